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
 * The cached busy events of each of calendars $1 that overlap [$2, $3) (epoch ms), as one text
 * value per calendar ("start,end,start,end…" in epoch ms, in start order: the index's order), which
 * travels and parses far faster than a row per event. All-day events block whole days in the
 * user's time zone $4, whatever zone the event was made in. Clipping and merging are left to
 * `read` (a pass over sorted numbers): in SQL they took more than half of the query's time
 * (`range_agg`, a sort of its ranges, and numeric arithmetic to format them).
 */
const CACHED_TIMELINES_SQL = `
  SELECT ev.id,
         string_agg((date_part('epoch', ev.s) * 1000)::bigint || ',' || (date_part('epoch', ev.e) * 1000)::bigint, ','
                    ORDER BY ev.s) AS spans
    FROM (SELECT "selectedCalendarId" AS id,
                 CASE WHEN "isAllDay" THEN "startDate"::timestamp AT TIME ZONE $4 ELSE "start" END AS s,
                 CASE WHEN "isAllDay" THEN "endDate"::timestamp AT TIME ZONE $4 ELSE "end" END AS e
            FROM "CalendarCacheEvent"
           WHERE "selectedCalendarId" = ANY($1::int[])
             AND "start" < to_timestamp($3::float8 / 1000) + interval '1 day'
             AND "end" > to_timestamp($2::float8 / 1000) - interval '1 day') AS ev
   WHERE ev.e > to_timestamp($2::float8 / 1000) AND ev.s < to_timestamp($3::float8 / 1000) AND ev.e > ev.s
   GROUP BY ev.id`;

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
    for (const { id, spans } of rows) timelines.set(id, clipAndMerge(spans, from, to));
    return timelines;
  }
}

/**
 * "start,end,…" in start order → the busy timeline inside [from, to): each span clipped to it,
 * overlapping and touching spans joined, packed as [start0, end0, start1, end1, …].
 */
export function clipAndMerge(spans: string, from: number, to: number): Float64Array {
  const numbers = spans.split(',');
  const packed = new Float64Array(numbers.length);
  let length = 0;
  for (let i = 0; i + 1 < numbers.length; i += 2) {
    const start = Math.max(Number(numbers[i]), from);
    const end = Math.min(Number(numbers[i + 1]), to);
    if (start >= end) continue;
    if (length > 0 && start <= packed[length - 1]) {
      if (end > packed[length - 1]) packed[length - 1] = end;
    } else {
      packed[length++] = start;
      packed[length++] = end;
    }
  }
  return packed.slice(0, length);
}
