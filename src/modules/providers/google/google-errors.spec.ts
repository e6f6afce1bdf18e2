import { ProviderError, type ProviderErrorKind } from '../provider.errors.js';
import { toGoogleProviderError } from './google-errors.js';
import { freeBusyErrorKind } from './google-calendar.provider.js';

/** A gaxios error as googleapis throws it for an error answer. */
function gaxiosError(status: number, reason: string | null, headers: Record<string, string> = {}) {
  return {
    message: 'request failed',
    status,
    response: {
      status,
      headers,
      data: reason === null ? {} : { error: { code: status, message: `${reason} message`, errors: [{ reason }] } },
    },
  };
}

describe('toGoogleProviderError', () => {
  it.each<[string, number, string | null, ProviderErrorKind]>([
    ['a sync token Google forgot', 410, 'fullSyncRequired', 'cursor_expired'],
    ['updatedMin too long ago', 410, 'updatedMinTooLongAgo', 'cursor_expired'],
    ['an event deleted twice', 410, 'deleted', 'gone'],
    ['429', 429, 'rateLimitExceeded', 'rate_limited'],
    ['403 rateLimitExceeded', 403, 'rateLimitExceeded', 'rate_limited'],
    ['403 userRateLimitExceeded', 403, 'userRateLimitExceeded', 'rate_limited'],
    ['403 quotaExceeded is not transient', 403, 'quotaExceeded', 'permanent'],
    ['404', 404, 'notFound', 'not_found'],
    ['duplicate id', 409, 'duplicate', 'conflict'],
    ['stale If-Match', 412, 'conditionNotMet', 'precondition_failed'],
    ['expired access token', 401, 'authError', 'unauthorized'],
    ['bad request', 400, 'invalid', 'bad_request'],
    ['server error', 500, 'backendError', 'transient'],
    ['unavailable', 503, null, 'transient'],
  ])('%s → %s', (_label, status, reason, kind) => {
    const mapped = toGoogleProviderError(gaxiosError(status, reason), 'events.list');
    expect(mapped).toBeInstanceOf(ProviderError);
    expect(mapped).toMatchObject({ kind, status, provider: 'google_calendar' });
    expect(mapped.message).toContain('events.list');
  });

  it('treats an OAuth invalid_grant as a revoked grant', () => {
    const error = {
      message: 'invalid_grant',
      response: { status: 400, data: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } },
    };
    expect(toGoogleProviderError(error, 'oauth.token')).toMatchObject({ kind: 'auth_revoked', status: 400 });
  });

  it('treats a request that got no answer as transient', () => {
    expect(toGoogleProviderError(new Error('socket hang up'), 'events.get').kind).toBe('transient');
  });

  it.each([
    ['seconds', { 'retry-after': '3' }, 3000],
    ['absent', {}, null],
  ])('keeps Retry-After (%s)', (_label, headers, expected) => {
    expect(toGoogleProviderError(gaxiosError(429, 'rateLimitExceeded', headers), 'events.list').retryAfterMs).toBe(expected);
  });

  it('returns a ProviderError unchanged', () => {
    const original = new ProviderError('google_calendar', 'conflict', 'x');
    expect(toGoogleProviderError(original, 'events.insert')).toBe(original);
  });
});

describe('freeBusyErrorKind', () => {
  it.each<[string, ProviderErrorKind]>([
    ['notFound', 'not_found'],
    ['internalError', 'transient'],
    ['backendError', 'transient'],
    ['groupTooBig', 'permanent'],
    ['tooManyCalendarsRequested', 'permanent'],
  ])('a calendar answered %s is %s', (reason, kind) => {
    expect(freeBusyErrorKind(reason)).toBe(kind);
  });
});

describe('a failed request quoted in a provider error', () => {
  it('keeps the request URL but not its query: no sync or page token reaches the message', async () => {
    const { calendar } = await import('googleapis/build/src/apis/calendar/index.js');
    // Nothing listens on port 1: the real client fails with a message naming the whole request URL.
    const client = calendar({ version: 'v3', rootUrl: 'http://127.0.0.1:1/', retry: false });
    const failure = await client.events
      .list({ calendarId: 'primary', syncToken: 'SECRET-SYNC-TOKEN', pageToken: 'SECRET-PAGE-TOKEN' })
      .then(
        () => null,
        (error: unknown) => error as Error,
      );
    expect(failure?.message).toContain('SECRET-SYNC-TOKEN');
    const mapped = toGoogleProviderError(failure, 'events.list');
    expect(mapped.kind).toBe('transient');
    expect(mapped.message).toContain('http://127.0.0.1:1/calendar/v3/calendars/primary/events?…');
    expect(mapped.message).not.toMatch(/SECRET/);
  });
});
