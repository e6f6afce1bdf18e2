import { ProviderError, type ProviderErrorKind } from '../provider.errors.js';

interface GaxiosLikeError {
  message?: string;
  status?: number;
  code?: number | string;
  response?: { status?: number; headers?: unknown; data?: unknown };
}

/** Maps a googleapis/gaxios failure to a ProviderError, branching on Google's `reason`, not only the status. */
export function toGoogleProviderError(error: unknown, operation: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const e = (error ?? {}) as GaxiosLikeError;
  const status = e.response?.status ?? (typeof e.status === 'number' ? e.status : null);
  const data = (e.response?.data ?? {}) as {
    error?: { message?: string; errors?: Array<{ reason?: string }> } | string;
    error_description?: string;
  };
  const body = typeof data.error === 'object' ? data.error : undefined;
  const reason = body?.errors?.[0]?.reason ?? (typeof data.error === 'string' ? data.error : undefined);
  const message = `Google ${operation} failed${status ? ` (${status}${reason ? ` ${reason}` : ''})` : ''}: ${
    body?.message ?? data.error_description ?? e.message ?? 'unknown error'
  }`;
  const retryAfterMs = parseRetryAfter(e.response?.headers);

  let kind: ProviderErrorKind;
  if (status === null && isTimeout(e)) kind = 'timeout';
  else if (reason === 'invalid_grant') kind = 'auth_revoked';
  else if (status === 410 && (reason === 'fullSyncRequired' || reason === 'updatedMinTooLongAgo')) kind = 'cursor_expired';
  else if (status === 410) kind = 'gone';
  else if (status === 429) kind = 'rate_limited';
  else if (status === 403 && (reason === 'rateLimitExceeded' || reason === 'userRateLimitExceeded')) kind = 'rate_limited';
  else if (status === 404) kind = 'not_found';
  else if (status === 409) kind = 'conflict';
  else if (status === 412) kind = 'precondition_failed';
  else if (status === 401) kind = 'unauthorized';
  else if (status === 400) kind = 'bad_request';
  else if (status === null || status === 408 || status >= 500) kind = 'transient';
  else kind = 'permanent';
  return new ProviderError('google_calendar', kind, message, status, retryAfterMs);
}

/** gaxios aborts a request that outlived its `timeout` (an AbortSignal under fetch, ETIMEDOUT before). */
function isTimeout(e: GaxiosLikeError & { name?: string; cause?: unknown }): boolean {
  const cause = (e.cause ?? {}) as { name?: string; code?: string };
  return (
    e.code === 'ETIMEDOUT' ||
    e.name === 'TimeoutError' ||
    cause.name === 'TimeoutError' ||
    cause.code === 'ETIMEDOUT' ||
    /timeout|timed out|aborted/i.test(e.message ?? '')
  );
}

function parseRetryAfter(headers: unknown): number | null {
  if (!headers) return null;
  let value: string | null | undefined;
  if (typeof (headers as Headers).get === 'function') value = (headers as Headers).get('retry-after');
  else value = (headers as Record<string, string | undefined>)['retry-after'];
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}
