import { type CanActivate, type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { constantTimeEquals } from '../../infrastructure/crypto/constant-time.js';
import type { ApiAuthKind } from './api-auth.decorator.js';

export const API_AUTH_KEY = 'calsync:api-auth';

/**
 * `Authorization: Bearer <key>`: the app key for the API, the admin key for `/api/v1/admin/**`.
 * Neither key opens the other's routes.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const kind =
      this.reflector.getAllAndOverride<ApiAuthKind | undefined>(API_AUTH_KEY, [context.getHandler(), context.getClass()]) ??
      'app';
    if (kind === 'none') return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) throw new UnauthorizedException('Missing bearer token: send "Authorization: Bearer <key>"');
    const expected = kind === 'admin' ? this.config.adminApiKey : this.config.apiKey;
    if (!constantTimeEquals(match[1], expected)) {
      throw new UnauthorizedException(kind === 'admin' ? 'Invalid admin API key' : 'Invalid API key');
    }
    return true;
  }
}
