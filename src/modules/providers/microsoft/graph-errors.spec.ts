import { GraphError } from '@microsoft/microsoft-graph-client';
import { ProviderError, type ProviderErrorKind } from '../provider.errors.js';
import { parseRetryAfter, toGraphProviderError, toOAuthProviderError } from './graph-errors.js';

/** A GraphError as the client builds it from an error answer. */
function graphError(status: number, code: string | null, headers: Record<string, string> = {}): GraphError {
  const error = new GraphError(status, `${code ?? 'error'} message`);
  error.code = code;
  error.headers = new Headers(headers);
  return error;
}

describe('toGraphProviderError', () => {
  it.each<[string, number, string | null, string, ProviderErrorKind]>([
    ['expired token', 401, 'InvalidAuthenticationToken', 'events.get', 'unauthorized'],
    ['missing event', 404, 'ErrorItemNotFound', 'events.get', 'not_found'],
    ['unknown subscription', 404, 'ResourceNotFound', 'subscriptions.update', 'not_found'],
    ['410 on a delta call', 410, null, 'events.delta', 'cursor_expired'],
    ['410 elsewhere', 410, null, 'events.delete', 'gone'],
    ['syncStateNotFound', 400, 'syncStateNotFound', 'events.delta', 'cursor_expired'],
    ['resyncRequired', 400, 'resyncRequired', 'events.delta', 'cursor_expired'],
    ['resyncRequired, other casing', 410, 'ResyncRequired', 'events.delta', 'cursor_expired'],
    ['stale If-Match', 412, 'ErrorIrresolvableConflict', 'events.update', 'precondition_failed'],
    ['stale If-Match answered as a 409', 409, 'ErrorIrresolvableConflict', 'events.update', 'precondition_failed'],
    ['conflict', 409, 'ErrorIrresolvableConflict', 'events.create', 'conflict'],
    ['reused transactionId, other content', 400, 'ErrorDuplicateTransactionId', 'events.create', 'conflict'],
    ['throttled', 429, 'ApplicationThrottled', 'events.delta', 'rate_limited'],
    ['unavailable', 503, 'ServiceNotAvailable', 'events.get', 'transient'],
    ['gateway timeout', 504, 'GatewayTimeout', 'events.get', 'transient'],
    ['server error', 500, 'generalException', 'events.get', 'transient'],
    ['bad request', 400, 'ErrorInvalidRequest', 'events.create', 'bad_request'],
    ['forbidden', 403, 'ErrorAccessDenied', 'events.get', 'permanent'],
  ])('%s → %s', (_label, status, code, operation, kind) => {
    const mapped = toGraphProviderError(graphError(status, code), operation);
    expect(mapped).toBeInstanceOf(ProviderError);
    expect(mapped.kind).toBe(kind);
    expect(mapped.status).toBe(status);
    expect(mapped.provider).toBe('office365_calendar');
    expect(mapped.message).toContain(operation);
  });

  it.each([
    ['429 in seconds', 429, { 'Retry-After': '7' }, 7000],
    ['503 in seconds', 503, { 'Retry-After': '2' }, 2000],
    ['504 without the header', 504, {}, null],
  ])('keeps Retry-After (%s)', (_label, status, headers, expected) => {
    expect(toGraphProviderError(graphError(status, null, headers), 'events.get').retryAfterMs).toBe(expected);
  });

  it('falls back on the raw answer headers when the error body was not JSON', () => {
    const bare = new GraphError(429); // what the client builds from an empty or text/html 429
    expect(toGraphProviderError(bare, 'events.delta', new Headers({ 'retry-after': '5' }))).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 5000,
    });
  });

  it('treats a request that timed out as a timeout, not retried in the same operation', () => {
    const timeout = new GraphError(-1, 'The operation was aborted due to timeout');
    timeout.code = 'TimeoutError';
    const mapped = toGraphProviderError(timeout, 'events.get');
    expect(mapped.kind).toBe('timeout');
    expect(mapped.status).toBeNull();
    expect(mapped.retryable).toBe(false);
  });

  it('treats a request that got no answer otherwise (reset, refused) as transient', () => {
    const reset = new GraphError(-1, 'socket hang up');
    reset.code = 'ECONNRESET';
    const mapped = toGraphProviderError(reset, 'events.get');
    expect(mapped.kind).toBe('transient');
    expect(mapped.retryable).toBe(true);
  });

  it('passes a ProviderError through untouched', () => {
    const original = new ProviderError('office365_calendar', 'auth_revoked', 'gone');
    expect(toGraphProviderError(original, 'events.get')).toBe(original);
  });
});

describe('toOAuthProviderError', () => {
  it.each<[string, number | null, string | undefined, ProviderErrorKind]>([
    ['revoked refresh token', 400, 'invalid_grant', 'auth_revoked'],
    ['consent or MFA needed again', 400, 'interaction_required', 'auth_revoked'],
    ['wrong client secret', 401, 'invalid_client', 'permanent'],
    ['malformed request', 400, 'invalid_request', 'bad_request'],
    ['throttled', 429, undefined, 'rate_limited'],
    ['token endpoint down', 503, 'temporarily_unavailable', 'rate_limited'],
    ['server error', 500, 'server_error', 'transient'],
    ['no answer', null, undefined, 'transient'],
  ])('%s → %s', (_label, status, error, kind) => {
    const mapped = toOAuthProviderError(
      'oauth.refresh',
      status,
      error ? { error, error_description: 'AADSTS1: details\r\nTrace ID: x' } : null,
    );
    expect(mapped.kind).toBe(kind);
    expect(mapped.message).not.toContain('Trace ID');
  });

  it('keeps the AADSTS text of a one-line description', () => {
    const mapped = toOAuthProviderError('oauth.refresh', 400, {
      error: 'invalid_grant',
      error_description: 'AADSTS70000: The grant was revoked. Trace ID: 1 Correlation ID: 2 Timestamp: 2026-01-01 00:00:00Z',
    });
    expect(mapped.message).toBe('Microsoft oauth.refresh failed (400 invalid_grant): AADSTS70000: The grant was revoked.');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, from Headers or a record', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': '0.5' })).toBe(500);
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    expect(parseRetryAfter({ 'Retry-After': inTenSeconds })).toBeGreaterThan(8000);
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });
});
