import { SetMetadata, UseGuards, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { API_AUTH_KEY, ApiKeyGuard } from './api-key.guard.js';

export type ApiAuthKind = 'app' | 'admin' | 'none';

/** Which bearer key a route needs. Routes without it need the app key. */
export const ApiAuth = (kind: ApiAuthKind) => SetMetadata(API_AUTH_KEY, kind);
/** No API key: provider webhooks (they carry their own proof), health, metrics, OAuth callbacks. */
export const PublicRoute = () => ApiAuth('none');
export const AdminRoute = () => ApiAuth('admin');

/**
 * Every `/api/v1` controller carries this. The key check is bound per controller rather than as a
 * global guard so that provider webhooks, which prove themselves and arrive by the thousand, pay
 * nothing for it; a test asserts that every `/api/v1` route refuses a request without a key.
 */
export const ApiKeyProtected = () => applyDecorators(UseGuards(ApiKeyGuard), ApiBearerAuth());
