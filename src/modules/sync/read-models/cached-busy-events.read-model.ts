/**
 * Read model: the cached busy events of some calendars that overlap a time, each with its id.
 * - Owner: sync (it owns CalendarCacheEvent and keeps it in step with the provider).
 * - Read by: availability (`GetConflictingBusyHandler`, the conflict check of a calendar
 *   reschedule: it must leave out the booking's own event and other bookings' events, so it needs
 *   the events' ids, which the merged timelines of `CachedBusyTimelinesReadModel` drop).
 * - Reads: CalendarCacheEvent (sync) `selectedCalendarId`, `externalId`, `start`, `end`,
 *   `isAllDay`, `startDate`, `endDate`; nothing of other modules' tables.
 */
import { preparedQuery } from '../../../infrastructure/database/prepared-query.js';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface CachedBusyEvent {
  selectedCalendarId: number;
  externalId: string;
  /** Epoch ms; all-day events cover their dates in the time zone asked for. */
  start: number;
  end: number;
}

/**
 * Busy events of calendars $1 overlapping [$2, $3) (strictly: an event ending at $2 does not), with
 * all-day events placed on their dates in the user's time zone $4, as the busy timelines place them.
 * Uses "CalendarCacheEvent_range_idx" (calendar, start): the day of slack covers all-day events.
 */
const OVERLAPPING_SQL = `
  SELECT "selectedCalendarId", "externalId",
         (extract(epoch FROM s) * 1000)::float8 AS "start", (extract(epoch FROM e) * 1000)::float8 AS "end"
    FROM (SELECT "selectedCalendarId", "externalId",
                 CASE WHEN "isAllDay" THEN "startDate"::timestamp AT TIME ZONE $4 ELSE "start" END AS s,
                 CASE WHEN "isAllDay" THEN "endDate"::timestamp AT TIME ZONE $4 ELSE "end" END AS e
            FROM "CalendarCacheEvent"
           WHERE "selectedCalendarId" = ANY($1::int[])
             AND "start" < $3::timestamptz + interval '1 day' AND "end" > $2::timestamptz - interval '1 day') events
   WHERE s < $3::timestamptz AND e > $2::timestamptz`;

@Injectable()
export class CachedBusyEventsReadModel {
  constructor(private readonly dataSource: DataSource) {}

  overlapping(calendarIds: number[], start: Date, end: Date, timeZone: string): Promise<CachedBusyEvent[]> {
    if (calendarIds.length === 0) return Promise.resolve([]);
    return preparedQuery(this.dataSource, OVERLAPPING_SQL, [calendarIds, start, end, timeZone]);
  }
}
