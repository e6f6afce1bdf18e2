import type { EntityManager } from 'typeorm';

/** What a sync run leaves behind with its last page (see `SyncStateStore.saveCursor`). */
export interface SyncCheckpoint {
  /** The provider's cursor after the last page (Google's syncToken, Graph's deltaLink). */
  cursor: string | null;
  /** Whether this run wrote the calendar's events into the cache. */
  cacheEnabled: boolean;
  /** A full listing: the cache's coverage and the cursor's window are re-anchored at `windowEnd`. */
  full: boolean;
  /** End of this run's window. */
  windowEnd: Date;
}

/**
 * The sync module's columns of SelectedCalendar: the cursor (`syncToken`, `syncCursorWindowEnd`),
 * the run's outcome (`syncedAt`, `syncErrorAt`, `syncErrorCount`, `lastError`) and the cache's
 * state (`cacheEnabled`, `cacheCoveredUntil`; `cacheVersion` moves by trigger with
 * CalendarCacheEvent). Sync owns them; every other module changes them only through this port
 * (connections owns the row's identity, subscriptions its `channel*` columns through ChannelStore).
 * Exported by `SyncStateModule`, which imports nothing, so any module can use it without a cycle.
 * An abstract class so it doubles as the injection token.
 */
export abstract class SyncStateStore {
  /**
   * The last page of a sync run committed: the new cursor, `syncedAt`, the error count cleared, and
   * the cache's state as this run left it. In the run's transaction, after every other effect.
   */
  abstract saveCursor(manager: EntityManager, selectedCalendarId: number, checkpoint: SyncCheckpoint): Promise<void>;

  /**
   * Changes of the calendar are no longer followed (its channel is gone): the cursor is forgotten,
   * so the next sync, if any, starts with a full listing. With `dropCache` the cache is dropped too
   * (`cacheEnabled` off, coverage and cached events gone), in the caller's transaction.
   */
  abstract resetCursor(manager: EntityManager, selectedCalendarId: number, options: { dropCache: boolean }): Promise<void>;

  /**
   * The calendar is no longer read for busy times: `cacheEnabled` off, coverage and cached events
   * gone; the cursor stays (the calendar may still be followed for its bookings).
   */
  abstract dropCache(manager: EntityManager, selectedCalendarId: number): Promise<void>;

  /**
   * A sync, or an attempt to watch the calendar, failed: `syncErrorAt`, one more `syncErrorCount`,
   * `lastError` (cut to 500 characters), and `syncNotBefore` pushed out to the provider's
   * `retryAfterMs` when given (a later hold already recorded is kept; a success clears it).
   * Outside any transaction unless `manager` is given.
   */
  abstract recordError(
    selectedCalendarId: number,
    message: string,
    manager?: EntityManager,
    options?: { retryAfterMs?: number | null },
  ): Promise<void>;

  /** The calendar's last error is over (a channel was opened): `lastError` cleared, the count kept. */
  abstract clearLastError(manager: EntityManager, selectedCalendarId: number): Promise<void>;

  /**
   * The calendar is no longer followed: its failure no longer matters (`syncErrorCount` 0,
   * `lastError` cleared, `syncErrorAt` kept as history). A later failure counts from one again,
   * and is told to the host again as `calendar.sync_failed`.
   */
  abstract forgetFailure(manager: EntityManager, selectedCalendarId: number): Promise<void>;
}
