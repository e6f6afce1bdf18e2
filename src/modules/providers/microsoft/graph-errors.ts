import { ProviderError, type ProviderErrorKind } from '../provider.errors.js';

const PROVIDER = 'office365_calendar';

/** What a failed Graph call leaves: the client's `GraphError`, or a transport error (status -1). */
interface GraphErrorLike {
  statusCode?: number;
  code?: string | null;
  message?: string;
  name?: string;
  headers?: unknown;
}

/** Graph's "this delta token is no longer valid: start over" codes (compared case-insensitively). */
const EXPIRED_DELTA_CODES = new Set(['syncstatenotfound', 'resyncrequired']);

/** Operations that follow a delta round: only there does a 410 mean "the cursor expired". */
export const isDeltaOperation = (operation: string): boolean => operation.endsWith('.delta');

/**
 * Maps a failed Graph call to a ProviderError, branching on Graph's `error.code` where the status
 * alone is ambiguous (a 410 on a delta call is an expired cursor, elsewhere a gone resource).
 */
export function toGraphProviderError(error: unknown, operation: string, answerHeaders?: Headers | null): ProviderError {
  if (error instanceof ProviderError) return error;
  const e = (error ?? {}) as GraphErrorLike;
  const status = typeof e.statusCode === 'number' && e.statusCode >= 100 ? e.statusCode : null;
  const code = typeof e.code === 'string' && e.code !== '' ? e.code : null;
  const detail = e.message || (status === null ? (e.name ?? 'network error') : 'no message');
  const message = `Microsoft Graph ${operation} failed${status ? ` (${status}${code ? ` ${code}` : ''})` : code ? ` (${code})` : ''}: ${detail}`;
  // A non-JSON error answer (a gateway's 503, an empty 429) leaves the GraphError without headers.
  const retryAfterMs = parseRetryAfter(e.headers) ?? (status !== null ? parseRetryAfter(answerHeaders) : null);
  return new ProviderError(PROVIDER, graphErrorKind(status, code, operation, e.name), message, status, retryAfterMs, code);
}

export function graphErrorKind(status: number | null, code: string | null, operation: string, name?: string): ProviderErrorKind {
  if (code && EXPIRED_DELTA_CODES.has(code.toLowerCase())) return 'cursor_expired';
  // Outlook answers a reused transactionId with other content as a 400: it names an existing event.
  if (code === 'ErrorDuplicateTransactionId') return 'conflict';
  // A write based on a changeKey the event no longer has: Outlook answers it as a 412, and at
  // times as a 409 with the same code. Either way the write's version is stale.
  if (code === 'ErrorIrresolvableConflict' && (operation === 'events.update' || operation === 'events.delete')) {
    return 'precondition_failed';
  }
  if (status === 410) return isDeltaOperation(operation) ? 'cursor_expired' : 'gone';
  if (status === 429) return 'rate_limited';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 412) return 'precondition_failed';
  if (status === 401) return 'unauthorized';
  if (status === 400) return 'bad_request';
  if (status === 408 || (status !== null && status >= 500)) return 'transient';
  // No status: the request never got an answer (timeout, reset, refused). A timed-out call is not
  // retried in the same operation (the caller answers 504, a job backs off). A client-side usage
  // error (`GraphClientError`) is a bug, not a passing fault.
  if (status === null && (name === 'TimeoutError' || code === 'TimeoutError')) return 'timeout';
  if (status === null) return name === 'GraphClientError' ? 'permanent' : 'transient';
  return 'permanent';
}

/** The token endpoint's error body (RFC 6749 §5.2, plus Entra's extras). */
export interface OAuthErrorBody {
  error?: string;
  error_description?: string;
  error_codes?: number[];
}

/**
 * Maps a failed token-endpoint answer. `invalid_grant` (revoked, expired or rotated-away refresh
 * token) and `interaction_required` (consent or conditional access must be redone) both mean the
 * user has to connect again.
 */
export function toOAuthProviderError(
  operation: string,
  status: number | null,
  body: OAuthErrorBody | null,
  headers?: unknown,
  cause?: unknown,
): ProviderError {
  const reason = typeof body?.error === 'string' ? body.error : null;
  let kind: ProviderErrorKind;
  if (reason === 'invalid_grant' || reason === 'interaction_required') kind = 'auth_revoked';
  else if (status === 429 || reason === 'temporarily_unavailable') kind = 'rate_limited';
  else if (status === null || status === 408 || status >= 500) kind = 'transient';
  else if (reason === 'invalid_client' || reason === 'unauthorized_client' || status === 401) kind = 'permanent';
  else if (status === 400) kind = 'bad_request';
  else kind = 'permanent';
  // Entra appends trace and correlation ids to the description (new lines or not): keep what precedes.
  const description = body?.error_description?.split(/\r?\n|\s+Trace ID:/, 1)[0];
  const detail =
    description ??
    (cause instanceof Error ? `${cause.name}: ${cause.message}` : status === null ? 'network error' : 'no description');
  const message = `Microsoft ${operation} failed${status ? ` (${status}${reason ? ` ${reason}` : ''})` : ''}: ${detail}`;
  return new ProviderError(PROVIDER, kind, message, status, parseRetryAfter(headers));
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(headers: unknown): number | null {
  if (!headers || typeof headers !== 'object') return null;
  let value: string | null | undefined;
  if (typeof (headers as Headers).get === 'function') value = (headers as Headers).get('retry-after');
  else {
    const record = headers as Record<string, unknown>;
    const raw = record['retry-after'] ?? record['Retry-After'];
    value = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : null;
  }
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}
