/** What deciding whether a calendar's cache can answer for it needs to know. */
export interface CacheTrustInput {
  /** The owner's cache flag, as of this request. */
  cacheOn: boolean;
  /** The last sync wrote the calendar's events into the cache. */
  cacheEnabled: boolean;
  /** The sync's cursor: without one the calendar was never synced, or its channel was stopped. */
  syncToken: string | null;
  /** The cache holds every busy event up to here; null: unknown, never filled. */
  cacheCoveredUntil: Date | null;
  /** The push channel: without a live one, changes are not followed between resyncs. */
  channelId: string | null;
  channelExpiration: Date | null;
  /** The last successful sync. */
  syncedAt: Date | null;
}

export interface CacheTrustConfig {
  /** A cache not synced for longer than this is answered live (`CACHE_STALE_AFTER_SECONDS`). */
  staleAfterMs: number;
}

/**
 * Whether busy times of a calendar may come from the cache: the flag is on, the cache was filled
 * and is being followed (cursor, a live channel) and was synced recently. Anything less is
 * answered live: a busy answer never guesses.
 */
export function isCacheTrusted(calendar: CacheTrustInput, now: number, config: CacheTrustConfig): boolean {
  return (
    calendar.cacheOn &&
    calendar.cacheEnabled &&
    calendar.syncToken !== null &&
    calendar.cacheCoveredUntil !== null &&
    calendar.channelId !== null &&
    calendar.channelExpiration !== null &&
    calendar.channelExpiration.getTime() > now &&
    calendar.syncedAt !== null &&
    now - calendar.syncedAt.getTime() <= config.staleAfterMs
  );
}

/**
 * A calendar answered live although its cache is on and was filled (stale, its channel lapsed, …)
 * is resynced in the background, so the cache answers again soon. A cache not filled yet is no
 * business of a busy request: the calendar's next sync plans a full listing for it (`planSync`).
 */
export function needsResync(calendar: CacheTrustInput, trusted: boolean): boolean {
  return !trusted && calendar.cacheOn && calendar.cacheEnabled;
}
