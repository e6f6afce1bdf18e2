/**
 * Read model: each calendar's cached busy timeline.
 * - Owner: sync (it owns CalendarCacheEvent and keeps it in step with the provider).
 * - Read by: availability (`BusyCacheReader`, behind GET busy-times): the hot read path.
 * - Reads: CalendarCacheEvent (sync) `selectedCalendarId`, `start`, `end`, `isAllDay`,
 *   `startDate`, `endDate`; nothing of other modules' tables.
 */
import { preparedQuery } from '../../../infrastructure/database/prepared-query.js';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * The cached busy intervals of each of calendars $1 within [$2, $3) (epoch ms), clipped and merged
 * per calendar by PostgreSQL (`range_agg`), as one text value per calendar ("start,end,start,end…"
 * in epoch ms, which travels and parses far faster than a row per interval). All-day events block
 * whole days in the user's time zone $4, whatever zone the event was made in.
 */
const CACHED_TIMELINES_SQL = `
  WITH bounds AS (SELECT to_timestamp($2::float8 / 1000) AS lo, to_timestamp($3::float8 / 1000) AS hi),
       events AS (
         SELECT "selectedCalendarId" AS id,
                CASE WHEN "isAllDay" THEN "startDate"::timestamp AT TIME ZONE $4 ELSE "start" END AS s,
                CASE WHEN "isAllDay" THEN "endDate"::timestamp AT TIME ZONE $4 ELSE "end" END AS e
           FROM "CalendarCacheEvent", bounds
          WHERE "selectedCalendarId" = ANY($1::int[])
            AND "start" < bounds.hi + interval '1 day' AND "end" > bounds.lo - interval '1 day'),
       merged AS (
         SELECT events.id, unnest(range_agg(tstzrange(GREATEST(events.s, bounds.lo), LEAST(events.e, bounds.hi)))) AS r
           FROM events, bounds
          WHERE events.e > bounds.lo AND events.s < bounds.hi AND events.e > events.s
          GROUP BY events.id)
  SELECT id, string_agg((extract(epoch FROM lower(r)) * 1000)::bigint || ',' || (extract(epoch FROM upper(r)) * 1000)::bigint,
                        ',' ORDER BY lower(r)) AS spans
    FROM merged
   GROUP BY id`;

@Injectable()
export class CachedBusyTimelinesReadModel {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Each calendar's merged busy timeline over [from, to) (epoch ms), packed as the busy memo keeps
   * them ([start0, end0, start1, end1, …]); calendars with nothing busy are absent.
   */
  async read(calendarIds: number[], from: number, to: number, timeZone: string): Promise<Map<number, Float64Array>> {
    const rows: Array<{ id: number; spans: string }> = await preparedQuery(this.dataSource, CACHED_TIMELINES_SQL, [
      calendarIds,
      from,
      to,
      timeZone,
    ]);
    const timelines = new Map<number, Float64Array>();
    for (const { id, spans } of rows) {
      const numbers = spans.split(',');
      const timeline = new Float64Array(numbers.length);
      for (let i = 0; i < numbers.length; i++) timeline[i] = Number(numbers[i]);
      timelines.set(id, timeline);
    }
    return timelines;
  }
}
