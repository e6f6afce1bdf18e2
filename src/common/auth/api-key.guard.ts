import { type CanActivate, type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { SecretMatcher } from '../../infrastructure/crypto/constant-time.js';
import type { ApiAuthKind } from './api-auth.decorator.js';

export const API_AUTH_KEY = 'calsync:api-auth';

/** The two bearer keys, compared in constant time. Neither opens the other's routes. */
export class ApiKeys {
  private readonly appKey: SecretMatcher;
  private readonly adminKey: SecretMatcher;

  constructor(config: Pick<AppConfig, 'apiKey' | 'adminApiKey'>) {
    this.appKey = new SecretMatcher(config.apiKey);
    this.adminKey = new SecretMatcher(config.adminApiKey);
  }

  /** Why `authorization` does not open a route needing `kind`, or null when it does. */
  refusal(kind: ApiAuthKind, authorization: string | undefined): string | null {
    if (kind === 'none') return null;
    const match = /^Bearer\s+(.+)$/i.exec((authorization ?? '').trim());
    if (!match) return 'Missing bearer token: send "Authorization: Bearer <key>"';
    if (!(kind === 'admin' ? this.adminKey : this.appKey).matches(match[1])) {
      return kind === 'admin' ? 'Invalid admin API key' : 'Invalid API key';
    }
    return null;
  }
}

/**
 * `Authorization: Bearer <key>`: the app key for the API, the admin key for `/api/v1/admin/**`.
 * Neither key opens the other's routes. The same check runs before the body is read
 * (`checkKeysBeforeParsing`); this guard keeps it for any route that check does not know.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: ApiKeys;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = new ApiKeys(config);
  }

  canActivate(context: ExecutionContext): boolean {
    const kind =
      this.reflector.getAllAndOverride<ApiAuthKind | undefined>(API_AUTH_KEY, [context.getHandler(), context.getClass()]) ??
      'app';
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    const refusal = this.keys.refusal(kind, request.headers.authorization);
    if (refusal) throw new UnauthorizedException(refusal);
    return true;
  }
}
