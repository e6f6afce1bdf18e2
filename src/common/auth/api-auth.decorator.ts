import { SetMetadata } from '@nestjs/common';

export type ApiAuthKind = 'app' | 'admin' | 'none';
export const API_AUTH_KEY = 'calsync:api-auth';

/** Which bearer key a route needs. Routes without it need the app key. */
export const ApiAuth = (kind: ApiAuthKind) => SetMetadata(API_AUTH_KEY, kind);
/** No API key: provider webhooks (they carry their own proof), health, metrics, OAuth callbacks. */
export const PublicRoute = () => ApiAuth('none');
export const AdminRoute = () => ApiAuth('admin');
