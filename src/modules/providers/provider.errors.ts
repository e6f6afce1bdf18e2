export type ProviderErrorKind =
  | 'cursor_expired'
  | 'rate_limited'
  | 'transient'
  /** No answer within the provider timeout: not retried in the same operation (the caller gets a 504, a job backs off). */
  | 'timeout'
  | 'not_found'
  | 'gone'
  | 'conflict'
  | 'precondition_failed'
  | 'auth_revoked'
  | 'unauthorized'
  | 'bad_request'
  | 'permanent';

/** A provider failure classified once, in the adapter, so callers branch on meaning, not status codes. */
export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    readonly kind: ProviderErrorKind,
    message: string,
    readonly status: number | null = null,
    readonly retryAfterMs: number | null = null,
    /** The provider's own error code, where it names more than the kind (Graph's `error.code`). */
    readonly code: string | null = null,
  ) {
    super(withoutQueries(message));
    this.name = 'ProviderError';
  }

  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'transient';
  }
}

export function isProviderError(error: unknown, kind?: ProviderErrorKind): error is ProviderError {
  return error instanceof ProviderError && (kind === undefined || error.kind === kind);
}

/**
 * A provider's message without the query of any URL it quotes (a network failure names the request:
 * a listing's `syncToken`/`pageToken`, a delta link's `$deltatoken`): the message reaches logs, the
 * calendar's `lastError` and the admin API.
 */
export function withoutQueries(message: string): string {
  return message.replace(/(\bhttps?:\/\/[^\s?#'"]*)\?[^\s#'"]*/gi, '$1?…');
}
