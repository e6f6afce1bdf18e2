import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { ExternalEvent } from '../providers/external-event.js';
import { CalendarCache } from './ports/calendar-cache.port.js';

export interface CacheWindow {
  start: Date;
  end: Date;
}

/**
 * Batched writes to CalendarCacheEvent: per page one upsert and one delete, never a query per event.
 * Only busy events inside the window are kept; anything cancelled, free or outside is removed.
 * The sync module's own writer; other modules get its `CalendarCache` side (clear, clean-up).
 */
@Injectable()
export class CalendarCacheRepository implements CalendarCache {
  async applyPage(
    manager: EntityManager,
    selectedCalendarId: number,
    events: ExternalEvent[],
    window: CacheWindow,
    syncStartedAt: Date,
  ): Promise<{ upserted: number; deleted: number }> {
    const keep: ExternalEvent[] = [];
    const drop: string[] = [];
    // The last entry for an id wins (pages can repeat an entity).
    const latest = new Map<string, ExternalEvent>();
    for (const event of events) latest.set(event.id, event);
    for (const event of latest.values()) {
      if (event.busy && event.start && event.end && event.end > window.start && event.start < window.end) keep.push(event);
      else drop.push(event.id);
    }
    if (keep.length > 0) {
      await manager.query(
        `INSERT INTO "CalendarCacheEvent" ("selectedCalendarId", "externalId", "iCalUID", "start", "end", "isAllDay",
                                          "startDate", "endDate", "status", "recurringEventId", "etag", "externalUpdatedAt", "cachedAt")
         SELECT $1, t.id, t.uid, t.s, t.e, t.allday, t.sd, t.ed, t.status, t.rec, t.etag, t.upd, $2
           FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::boolean[], $8::date[], $9::date[],
                       $10::text[], $11::text[], $12::text[], $13::timestamptz[])
                AS t(id, uid, s, e, allday, sd, ed, status, rec, etag, upd)
         ON CONFLICT ("selectedCalendarId", "externalId") DO UPDATE SET
           "iCalUID" = EXCLUDED."iCalUID", "start" = EXCLUDED."start", "end" = EXCLUDED."end", "isAllDay" = EXCLUDED."isAllDay",
           "startDate" = EXCLUDED."startDate", "endDate" = EXCLUDED."endDate", "status" = EXCLUDED."status",
           "recurringEventId" = EXCLUDED."recurringEventId", "etag" = EXCLUDED."etag",
           "externalUpdatedAt" = EXCLUDED."externalUpdatedAt", "cachedAt" = EXCLUDED."cachedAt"`,
        [
          selectedCalendarId,
          syncStartedAt,
          keep.map((e) => e.id),
          keep.map((e) => e.iCalUID),
          // Instants as ISO text: node-postgres formats each Date of an array field by field in
          // local time (about 4 ms per 1,000 dates on a busy machine); PostgreSQL reads either.
          keep.map((e) => (e.start as Date).toISOString()),
          keep.map((e) => (e.end as Date).toISOString()),
          keep.map((e) => e.isAllDay),
          keep.map((e) => e.startDate),
          keep.map((e) => e.endDate),
          keep.map((e) => e.status),
          keep.map((e) => e.recurringEventId),
          keep.map((e) => e.etag),
          keep.map((e) => (e.updated ? new Date(e.updated).toISOString() : null)),
        ],
      );
    }
    let deleted = 0;
    if (drop.length > 0) {
      const result: [unknown[], number] = await manager.query(
        `DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 AND "externalId" = ANY($2::text[])`,
        [selectedCalendarId, drop],
      );
      deleted = result[1] ?? 0;
    }
    return { upserted: keep.length, deleted };
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

  /** Drops events that have ended. */
  async removeEnded(manager: EntityManager, before: Date): Promise<number> {
    const result: [unknown[], number] = await manager.query(`DELETE FROM "CalendarCacheEvent" WHERE "end" <= $1`, [before]);
    return result[1] ?? 0;
  }
}
