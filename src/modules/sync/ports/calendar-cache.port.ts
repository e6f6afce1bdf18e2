import type { EntityManager } from 'typeorm';

/**
 * The busy-time cache (CalendarCacheEvent), as other modules may change it. The sync module owns
 * the table and writes it page by page itself (`CalendarCacheRepository`); everyone else goes
 * through this port. Every change moves the calendar's `cacheVersion` (database triggers), so
 * memoized busy answers never outlive it. Exported by `SyncStateModule`. An abstract class so it
 * doubles as the injection token.
 */
export abstract class CalendarCache {
  /** Drops every cached event of the calendar, in the caller's transaction. */
  abstract clear(manager: EntityManager, selectedCalendarId: number): Promise<void>;

  /** Drops the events, of every calendar, that ended at or before `before`; how many. */
  abstract removeEnded(manager: EntityManager, before: Date): Promise<number>;
}
