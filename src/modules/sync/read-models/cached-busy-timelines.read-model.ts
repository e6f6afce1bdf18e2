/**
 * Read model: each calendar's cached busy timeline.
 * - Owner: sync (it owns CalendarCacheEvent and keeps it in step with the provider).
 * - Read by: availability (`BusyCacheReader`, behind GET busy-times): the hot read path.
 * - Reads: CalendarCacheEvent (sync) `selectedCalendarId`, `start`, `end`, `isAllDay`,
 *   `startDate`, `endDate`; SelectedCalendar `id`; and for `readForUser`, which lists the user's
 *   calendars too, what `BusySourceCalendarsReadModel` (connections) reads, through its own columns
 *   and FROM clause, and a flag's inputs through feature-flags' `flagInputsSql`.
 */
import { preparedQuery } from '../../../infrastructure/database/prepared-query.js';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  BUSY_SOURCES_COLUMNS,
  BUSY_SOURCES_FROM,
  type BusySources,
  busySourcesOf,
} from '../../connections/read-models/busy-source-calendars.read-model.js';
import { type FlagInputRow, flagInputsSql } from '../../feature-flags/index.js';

/**
 * The cached busy events of a calendar (`$calendar`) that overlap [$2, $3) (epoch ms), as one text
 * value ("start,end,start,end…" in epoch ms, in start order: the index's order), which travels and
 * parses far faster than a row per event. All-day events block whole days in the time zone
 * `$zone`, whatever zone the event was made in. Clipping and merging are left to `clipAndMerge`
 * (a pass over sorted numbers): in SQL they took more than half of the query's time (`range_agg`,
 * a sort of its ranges, and numeric arithmetic to format them).
 */
const spansOf = (calendar: string, zone: string) => `
  (SELECT string_agg((date_part('epoch', ev.s) * 1000)::bigint || ',' || (date_part('epoch', ev.e) * 1000)::bigint, ','
                     ORDER BY ev.s)
     FROM (SELECT CASE WHEN "isAllDay" THEN "startDate"::timestamp AT TIME ZONE ${zone} ELSE "start" END AS s,
                  CASE WHEN "isAllDay" THEN "endDate"::timestamp AT TIME ZONE ${zone} ELSE "end" END AS e
             FROM "CalendarCacheEvent"
            WHERE "selectedCalendarId" = ${calendar}
              AND "start" < to_timestamp($3::float8 / 1000) + interval '1 day'
              AND "end" > to_timestamp($2::float8 / 1000) - interval '1 day') AS ev
    WHERE ev.e > to_timestamp($2::float8 / 1000) AND ev.s < to_timestamp($3::float8 / 1000) AND ev.e > ev.s)`;

/** Calendars $1, in time zone $4. */
const CACHED_TIMELINES_SQL = `
  SELECT sc."id", ${spansOf('sc."id"', '$4')} AS spans
    FROM "SelectedCalendar" sc
   WHERE sc."id" = ANY($1::int[])`;

/**
 * The busy-source calendars of user $1 as `BusySourceCalendarsReadModel` lists them (its columns
 * and FROM clause), each with its cached timeline in the user's time zone, and the inputs of flag
 * $4 for the user (feature-flags' `flagInputsSql`): the calendars, their versions, their events and
 * the flag read in one statement, so in one snapshot.
 */
const USER_TIMELINES_SQL = `
  SELECT src.*, flag."userFlag", flag."teamFlags", flag."globalFlag"
    FROM (SELECT ${BUSY_SOURCES_COLUMNS},
                 CASE WHEN sc."id" IS NOT NULL THEN ${spansOf('sc."id"', 'u."timeZone"')} END AS spans
            ${BUSY_SOURCES_FROM}) AS src
   CROSS JOIN (SELECT ${flagInputsSql('$4', '$1::int')}) AS flag
   ORDER BY src."id"`;

/** `readForUser`'s answer: the time zone it used, and each calendar's timeline under the version it was read at. */
export interface UserTimelines {
  timeZone: string;
  calendars: Map<number, { cacheVersion: string; timeline: Float64Array }>;
}

@Injectable()
export class CachedBusyTimelinesReadModel {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Each calendar's merged busy timeline over [from, to) (epoch ms), packed as the busy memo keeps
   * them ([start0, end0, start1, end1, …]); calendars with nothing busy are absent.
   */
  async read(calendarIds: number[], from: number, to: number, timeZone: string): Promise<Map<number, Float64Array>> {
    const rows: Array<{ id: number; spans: string | null }> = await preparedQuery(this.dataSource, CACHED_TIMELINES_SQL, [
      calendarIds,
      from,
      to,
      timeZone,
    ]);
    const timelines = new Map<number, Float64Array>();
    for (const { id, spans } of rows) if (spans !== null) timelines.set(id, clipAndMerge(spans, from, to));
    return timelines;
  }

  /**
   * The user's busy sources (as `BusySourceCalendarsReadModel.forUser` answers), each one's
   * timeline over [from, to) in the user's time zone, and the inputs of flag `flag` for the user,
   * in one statement: for busy times of a user not asked about lately, whose answer is not
   * memoized, one round trip instead of three. `sources` (and `flag`) are null for an unknown user.
   */
  async readForUser(
    userId: number,
    from: number,
    to: number,
    flag: string,
  ): Promise<{ sources: BusySources | null; timelines: UserTimelines | null; flag: FlagInputRow | null }> {
    const rows: Array<FlagInputRow & { id: number | null; cacheVersion: string; spans: string | null }> = await preparedQuery(
      this.dataSource,
      USER_TIMELINES_SQL,
      [userId, from, to, flag],
    );
    const sources = busySourcesOf(rows);
    if (!sources) return { sources: null, timelines: null, flag: null };
    const calendars = new Map<number, { cacheVersion: string; timeline: Float64Array }>();
    for (const { id, cacheVersion, spans } of rows) {
      if (id === null) continue;
      calendars.set(id, { cacheVersion, timeline: spans === null ? new Float64Array(0) : clipAndMerge(spans, from, to) });
    }
    const { userFlag, teamFlags, globalFlag } = rows[0];
    return { sources, timelines: { timeZone: sources.timeZone, calendars }, flag: { userFlag, teamFlags, globalFlag } };
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
