/**
 * Read model: a user's cached events in a range, with the provider id of the calendar each came from.
 * - Owner: sync (it owns CalendarCacheEvent; the join only names the calendar).
 * - Read by: availability (`ListCachedEventsHandler`, GET cached-events: why a slot shows busy).
 * - Reads: CalendarCacheEvent (sync) `selectedCalendarId`, `externalId`, `start`, `end`, `isAllDay`,
 *   `status`, `etag`, `externalUpdatedAt`, `cachedAt`; SelectedCalendar (connections: identity)
 *   `id`, `userId`, `externalId`.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface CachedEventRecord {
  selectedCalendarId: number;
  externalCalendarId: string;
  externalId: string;
  start: Date;
  end: Date;
  isAllDay: boolean;
  status: string;
  etag: string | null;
  externalUpdatedAt: Date | null;
  cachedAt: Date;
}

@Injectable()
export class CachedEventsReadModel {
  constructor(private readonly dataSource: DataSource) {}

  /** The user's cached events overlapping [start, end), by start then id, at most `limit`. */
  forUser(userId: number, start: Date, end: Date, limit: number): Promise<CachedEventRecord[]> {
    return this.dataSource.query(
      `SELECT e."selectedCalendarId", sc."externalId" AS "externalCalendarId", e."externalId", e."start", e."end",
              e."isAllDay", e."status", e."etag", e."externalUpdatedAt", e."cachedAt"
         FROM "CalendarCacheEvent" e JOIN "SelectedCalendar" sc ON sc."id" = e."selectedCalendarId"
        WHERE sc."userId" = $1 AND e."start" < $3 AND e."end" > $2
        ORDER BY e."start", e."externalId"
        LIMIT $4`,
      [userId, start, end, limit],
    );
  }
}
