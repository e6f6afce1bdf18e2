import { type CanActivate, type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { SecretMatcher } from '../../infrastructure/crypto/constant-time.js';
import type { ApiAuthKind } from './api-auth.decorator.js';

export const API_AUTH_KEY = 'calsync:api-auth';

/**
 * `Authorization: Bearer <key>`: the app key for the API, the admin key for `/api/v1/admin/**`.
 * Neither key opens the other's routes.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly appKey: SecretMatcher;
  private readonly adminKey: SecretMatcher;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.appKey = new SecretMatcher(config.apiKey);
    this.adminKey = new SecretMatcher(config.adminApiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const kind =
      this.reflector.getAllAndOverride<ApiAuthKind | undefined>(API_AUTH_KEY, [context.getHandler(), context.getClass()]) ??
      'app';
    if (kind === 'none') return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) throw new UnauthorizedException('Missing bearer token: send "Authorization: Bearer <key>"');
    if (!(kind === 'admin' ? this.adminKey : this.appKey).matches(match[1])) {
      throw new UnauthorizedException(kind === 'admin' ? 'Invalid admin API key' : 'Invalid API key');
    }
    return true;
  }
}
