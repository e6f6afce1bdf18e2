import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { ExternalEvent } from '../providers/external-event.js';
import { CalendarCache } from './ports/calendar-cache.port.js';

/** A day in milliseconds: an all-day event's slack against the window (see `applyPage`). */
const DAY_MS = 86_400_000;

export interface CacheWindow {
  start: Date;
  end: Date;
}

/** One cached row as a page's JSON parameter carries it (see `rowOf`). */
type CacheRow = [
  string,
  string | null,
  number,
  number,
  boolean,
  string | null,
  string | null,
  string,
  string | null,
  string | null,
  number | null,
];

const COLUMNS = `"selectedCalendarId", "externalId", "iCalUID", "start", "end", "isAllDay", "startDate", "endDate", "status",
                 "recurringEventId", "etag", "externalUpdatedAt", "cachedAt"`;
/**
 * The rows of a page, from its JSON parameter. The calendar's row is locked before the first
 * insert (an InitPlan): nothing is cached for a calendar that is gone, and its removal waits for
 * this write (migration 1763800000018).
 */
const PAGE_ROWS = `SELECT $1, r->>0, r->>1, to_timestamp((r->>2)::float8 / 1000), to_timestamp((r->>3)::float8 / 1000), (r->>4)::boolean,
                          (r->>5)::date, (r->>6)::date, r->>7, r->>8, r->>9, to_timestamp((r->>10)::float8 / 1000), $2
                     FROM jsonb_array_elements($3::jsonb) AS r
                    WHERE EXISTS (SELECT 1 FROM "SelectedCalendar" WHERE "id" = $1 FOR KEY SHARE)`;
const UPSERT = `INSERT INTO "CalendarCacheEvent" (${COLUMNS}) ${PAGE_ROWS}
  ON CONFLICT ("selectedCalendarId", "externalId") DO UPDATE SET
    "iCalUID" = EXCLUDED."iCalUID", "start" = EXCLUDED."start", "end" = EXCLUDED."end", "isAllDay" = EXCLUDED."isAllDay",
    "startDate" = EXCLUDED."startDate", "endDate" = EXCLUDED."endDate", "status" = EXCLUDED."status",
    "recurringEventId" = EXCLUDED."recurringEventId", "etag" = EXCLUDED."etag",
    "externalUpdatedAt" = EXCLUDED."externalUpdatedAt", "cachedAt" = EXCLUDED."cachedAt"`;
/** The constraint a plain insert of an event cached already violates. */
export const CACHE_PRIMARY_KEY = 'CalendarCacheEvent_pkey';

const INSERT = `INSERT INTO "CalendarCacheEvent" (${COLUMNS}) ${PAGE_ROWS}`;

/**
 * Batched writes to CalendarCacheEvent: per page one upsert and one delete, never a query per event.
 * Only busy events inside the window are kept; anything cancelled, free or outside is removed.
 * The sync module's own writer; other modules get its `CalendarCache` side (clear, clean-up).
 */
@Injectable()
export class CalendarCacheRepository implements CalendarCache {
  /**
   * Writes one page. `fresh` names the page's events no row of the calendar can hold yet (a first
   * sync's events not listed on an earlier page, see `SyncCalendarService.run`): they go in with a
   * plain insert, without ON CONFLICT's check per row (a fifth of a first sync's insert). Should one
   * be there after all, the insert fails with a unique violation of the primary key and the caller
   * redoes the page's transaction without `fresh` (`SyncPageApplier.apply`): `fresh` only ever
   * chooses the faster statement, never the result.
   */
  async applyPage(
    manager: EntityManager,
    selectedCalendarId: number,
    events: ExternalEvent[],
    window: CacheWindow,
    syncStartedAt: Date,
    fresh: ReadonlySet<string> | null = null,
  ): Promise<{ upserted: number; deleted: number }> {
    const inserts: CacheRow[] = [];
    const upserts: CacheRow[] = [];
    const drop: string[] = [];
    // The last entry for an id wins (pages can repeat an entity).
    const latest = new Map<string, ExternalEvent>();
    for (const event of events) latest.set(event.id, event);
    for (const event of latest.values()) {
      // An all-day event's instants are its dates at UTC midnight, but it covers them in whatever
      // zone a reader asks in (UTC-12 to UTC+14): it is kept while any zone still sees it in the window.
      const slack = event.isAllDay ? DAY_MS : 0;
      if (
        event.busy &&
        event.start &&
        event.end &&
        event.end.getTime() + slack > window.start.getTime() &&
        event.start.getTime() - slack < window.end.getTime()
      ) {
        (fresh?.has(event.id) ? inserts : upserts).push(rowOf(event));
      } else drop.push(event.id);
    }
    if (inserts.length > 0) await manager.query(INSERT, [selectedCalendarId, syncStartedAt, JSON.stringify(inserts)]);
    if (upserts.length > 0) await manager.query(UPSERT, [selectedCalendarId, syncStartedAt, JSON.stringify(upserts)]);
    let deleted = 0;
    if (drop.length > 0) {
      const result: [unknown[], number] = await manager.query(
        `DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 AND "externalId" = ANY($2::text[])`,
        [selectedCalendarId, drop],
      );
      deleted = result[1] ?? 0;
    }
    return { upserted: inserts.length + upserts.length, deleted };
  }

  /** Whether the calendar has no cached event at all (a first sync, or a cache cleared). */
  async isEmpty(manager: EntityManager, selectedCalendarId: number): Promise<boolean> {
    const rows: Array<{ empty: boolean }> = await manager.query(
      `SELECT NOT EXISTS (SELECT 1 FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1) AS "empty"`,
      [selectedCalendarId],
    );
    return rows[0]?.empty === true;
  }

  /** After a full sync: whatever the provider did not return this run is gone. */
  async removeNotSeenSince(manager: EntityManager, selectedCalendarId: number, syncStartedAt: Date): Promise<number> {
    const result: [unknown[], number] = await manager.query(
      `DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 AND "cachedAt" < $2`,
      [selectedCalendarId, syncStartedAt],
    );
    return result[1] ?? 0;
  }

  async clear(manager: EntityManager, selectedCalendarId: number): Promise<void> {
    await manager.query(`DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [selectedCalendarId]);
  }

  /**
   * Drops events that have ended: an all-day event only a day after its last date's UTC midnight,
   * as it still covers that date where the day is not over yet (west of UTC).
   */
  async removeEnded(manager: EntityManager, before: Date): Promise<number> {
    const result: [unknown[], number] = await manager.query(
      `DELETE FROM "CalendarCacheEvent"
        WHERE "end" <= $1 AND (NOT "isAllDay" OR "end" <= $1::timestamptz - interval '1 day')`,
      [before],
    );
    return result[1] ?? 0;
  }
}

/**
 * A row as the page's JSON parameter carries it: instants in epoch milliseconds, which V8 writes
 * natively, where 11 text arrays cost node-postgres an escape per element and the dates their ISO
 * text (about 12 ms of JavaScript per 2,500 events, on the path a first sync is bound by).
 * `updated` is the provider's text; an unparsable one is stored as null.
 */
function rowOf(e: ExternalEvent): CacheRow {
  const updated = e.updated ? Date.parse(e.updated) : Number.NaN;
  return [
    e.id,
    e.iCalUID,
    (e.start as Date).getTime(),
    (e.end as Date).getTime(),
    e.isAllDay,
    e.startDate,
    e.endDate,
    e.status,
    e.recurringEventId,
    e.etag,
    Number.isNaN(updated) ? null : updated,
  ];
}
