/** Google-shaped API errors, thrown inside handlers and turned into responses in one place. */

export type ErrorDomain = 'global' | 'usageLimits' | 'calendar';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly domain: ErrorDomain = domainFor(reason),
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  body(): object {
    const error: Record<string, unknown> = {
      code: this.status,
      message: this.message,
      errors: [{ domain: this.domain, reason: this.reason, message: this.message }],
    };
    // Google only adds the RPC status for auth failures on this API; clients may branch on it.
    if (this.status === 401) error.status = 'UNAUTHENTICATED';
    return { error };
  }
}

/** Errors of the programmatic/control API (a test misused the emulator), not Google errors. */
export class EmulatorError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function domainFor(reason: string): ErrorDomain {
  switch (reason) {
    case 'rateLimitExceeded':
    case 'userRateLimitExceeded':
    case 'quotaExceeded':
    case 'dailyLimitExceeded':
      return 'usageLimits';
    case 'timeRangeEmpty':
    case 'invalidResource':
      return 'calendar';
    default:
      return 'global';
  }
}

export const badRequest = (message: string, reason = 'invalid'): ApiError => new ApiError(400, reason, message);
export const notFound = (message = 'Not Found'): ApiError => new ApiError(404, 'notFound', message);
export const unauthorized = (): ApiError =>
  new ApiError(
    401,
    'authError',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
  );
export const fullSyncRequired = (): ApiError =>
  new ApiError(410, 'fullSyncRequired', 'Sync token is no longer valid, a full sync is required.');
