import { BadRequestException, ConflictException, Inject, NotFoundException } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { MetricsService } from '../../../infrastructure/metrics/metrics.service.js';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { CredentialAuthFactory } from '../../connections/credential-auth.factory.js';
import type { CredentialEntity } from '../../connections/entities/credential.entity.js';
import type { SelectedCalendarEntity } from '../../connections/entities/selected-calendar.entity.js';
import { CACHE_FLAG, FeatureFlagService } from '../../feature-flags/feature-flag.service.js';
import { CalendarProviders } from '../../providers/calendar-provider.port.js';
import { SYNC_CALENDAR_JOB, cacheWindow, syncJobOptions } from '../../sync/sync.constants.js';
import { type Interval, mergeIntervals, outside } from '../domain/intervals.js';
import { isoInstant } from '../domain/iso-instant.js';
import { BusyMemo, clipTimeline, mergeTimelines, renderClipped } from '../domain/busy-memo.js';
import { type BusyTimes, GetBusyTimesQuery } from './get-busy-times.query.js';

const MAX_RANGE_DAYS = 366;

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

type CalendarRow = SelectedCalendarEntity & { credential: CredentialEntity };

/**
 * Busy times of a user's selected calendars. A calendar whose cache is trustworthy (cache flag on,
 * cursor present, channel live, synced recently) is answered from PostgreSQL; every other
 * calendar, and any part of the range outside the cached window, live from its provider.
 * Never guesses: a calendar that cannot be read fails the request rather than look free.
 */
@QueryHandler(GetBusyTimesQuery)
export class GetBusyTimesHandler implements IQueryHandler<GetBusyTimesQuery> {
  private readonly memo = new BusyMemo();

  constructor(
    private readonly dataSource: DataSource,
    private readonly flags: FeatureFlagService,
    private readonly providers: CalendarProviders,
    private readonly credentials: CredentialAuthFactory,
    private readonly jobs: JobQueue,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async execute({ userId, start, end }: GetBusyTimesQuery): Promise<BusyTimes> {
    if (end.getTime() - start.getTime() > MAX_RANGE_DAYS * 86_400_000) {
      throw new BadRequestException(`The range may span at most ${MAX_RANGE_DAYS} days`);
    }
    const [{ timeZone, calendars }, cacheOn] = await Promise.all([
      this.userAndCalendars(userId),
      this.flags.isEnabled(CACHE_FLAG, userId),
    ]);
    const from = start.getTime();
    const to = end.getTime();
    const window = cacheWindow(this.config.syncWindowDays);
    const now = Date.now();

    const cached: CalendarRow[] = [];
    const live: CalendarRow[] = [];
    for (const calendar of calendars) {
      if (calendar.credential.status !== 'active') {
        throw new ConflictException(
          `Calendar ${calendar.externalId} cannot be read: its credential ${calendar.credentialId} was revoked; connect it again`,
        );
      }
      const trusted =
        cacheOn &&
        calendar.cacheEnabled &&
        calendar.syncToken !== null &&
        calendar.cacheCoveredUntil !== null &&
        calendar.channelId !== null &&
        calendar.channelExpiration !== null &&
        calendar.channelExpiration.getTime() > now &&
        calendar.syncedAt !== null &&
        now - calendar.syncedAt.getTime() <= this.config.cacheStaleAfterSeconds * 1000;
      if (trusted) cached.push(calendar);
      else live.push(calendar);
      if (!trusted && cacheOn && calendar.cacheEnabled) await this.resyncInBackground(calendar.id);
    }

    const intervals: Interval[] = [];
    const cachedParts: Array<{ timeline: Float64Array; from: number; to: number }> = [];
    let usedLive = false;
    // Calendars whose cache covers the same stretch are read together; the rest of the range is live.
    const byCoverage = new Map<number, CalendarRow[]>();
    for (const calendar of cached) {
      const coveredTo = Math.min(window.end, (calendar.cacheCoveredUntil as Date).getTime());
      byCoverage.set(coveredTo, [...(byCoverage.get(coveredTo) ?? []), calendar]);
    }
    for (const [coveredTo, group] of byCoverage) {
      const cachedFrom = Math.max(from, window.start);
      const cachedTo = Math.min(to, coveredTo);
      if (cachedFrom < cachedTo) {
        const timeline = await this.cachedTimeline(group, { start: window.start, end: coveredTo }, timeZone);
        cachedParts.push({ timeline, from: cachedFrom, to: cachedTo });
        this.countSavedCalls(group);
      }
      for (const part of outside(from, to, window.start, coveredTo)) {
        intervals.push(...(await this.fromProvider(group, part.start, part.end, timeZone)));
        usedLive = true;
      }
    }
    if (live.length > 0) {
      intervals.push(...(await this.fromProvider(live, from, to, timeZone)));
      usedLive = true;
    }
    const usedCache = cachedParts.length > 0;
    const source = usedCache && usedLive ? 'mixed' : usedCache || (!usedLive && cacheOn) ? 'cache' : 'live';
    this.metrics.busyTimeRequests.inc({ source });
    if (cachedParts.length === 1 && !usedLive) {
      // The usual answer: one memoized timeline, already merged, with its instants formatted once.
      const only = cachedParts[0];
      return { source, busy: renderClipped(only.timeline, only.from, only.to) };
    }
    for (const part of cachedParts) intervals.push(...clipTimeline(part.timeline, part.from, part.to));
    return {
      source,
      busy: mergeIntervals(intervals, from, to).map((i) => ({ start: isoInstant(i.start), end: isoInstant(i.end) })),
    };
  }

  /**
   * The user's time zone and busy-source calendars in one round trip (this is the hot read path);
   * 404 for an unknown user, as `GetUserQuery` would answer.
   */
  private async userAndCalendars(userId: number): Promise<{ timeZone: string; calendars: CalendarRow[] }> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT u."timeZone" AS "userTimeZone", sc."id", sc."credentialId", sc."externalId", sc."integration", sc."cacheEnabled",
              sc."syncToken", sc."cacheCoveredUntil", sc."channelId", sc."channelExpiration", sc."syncedAt",
              sc."cacheVersion"::text AS "cacheVersion", c."status" AS "credentialStatus"
         FROM "User" u
         LEFT JOIN ("SelectedCalendar" sc JOIN "Credential" c ON c."id" = sc."credentialId")
                ON sc."userId" = u."id" AND sc."busySource"
        WHERE u."id" = $1
        ORDER BY sc."id"`,
      [userId],
    );
    if (rows.length === 0) throw new NotFoundException(`User ${userId} not found`);
    const calendars = rows
      .filter((r) => r.id !== null)
      .map((r) => ({ ...r, credential: { id: r.credentialId, status: r.credentialStatus } }) as unknown as CalendarRow);
    return { timeZone: rows[0].userTimeZone as string, calendars };
  }

  /**
   * The calendars' merged busy timeline over their cached window. Memoized per calendar set, and
   * below that per calendar, so a change to one calendar re-reads only that calendar's events.
   */
  private async cachedTimeline(
    calendars: CalendarRow[],
    covered: { start: number; end: number },
    timeZone: string,
  ): Promise<Float64Array> {
    const keyOf = (set: CalendarRow[]) =>
      BusyMemo.key({
        calendars: set.map((c) => ({ id: c.id, version: c.cacheVersion })),
        from: covered.start,
        to: covered.end,
        timeZone,
      });
    const setKey = keyOf(calendars);
    let timeline = this.memo.get(setKey);
    if (!timeline) {
      const parts: Float64Array[] = [];
      const missing: CalendarRow[] = [];
      for (const calendar of calendars) {
        const own = calendars.length === 1 ? undefined : this.memo.get(keyOf([calendar]));
        if (own) parts.push(own);
        else missing.push(calendar);
      }
      if (missing.length > 0) {
        const read = await this.fromCache(
          missing.map((c) => c.id),
          covered.start,
          covered.end,
          timeZone,
        );
        for (const calendar of missing) {
          const own = read.get(calendar.id) ?? new Float64Array(0);
          if (calendars.length > 1) this.memo.set(keyOf([calendar]), own);
          parts.push(own);
        }
      }
      timeline = mergeTimelines(parts);
      this.memo.set(setKey, timeline);
    }
    return timeline;
  }

  /** Each calendar's merged busy timeline over [from, to); calendars with nothing busy are absent. */
  private async fromCache(calendarIds: number[], from: number, to: number, timeZone: string): Promise<Map<number, Float64Array>> {
    const rows: Array<{ id: number; spans: string }> = await this.dataSource.query(CACHED_TIMELINES_SQL, [
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

  /** One provider call per credential, for all of its calendars. */
  private async fromProvider(calendars: CalendarRow[], from: number, to: number, timeZone: string): Promise<Interval[]> {
    const byCredential = new Map<number, CalendarRow[]>();
    for (const c of calendars) byCredential.set(c.credentialId, [...(byCredential.get(c.credentialId) ?? []), c]);
    const results = await Promise.all(
      [...byCredential.entries()].map(async ([credentialId, group]) => {
        const { credential, auth } = await this.credentials.open(credentialId);
        const busy = await this.providers.get(credential.provider).busyTimes(
          auth,
          group.map((c) => c.externalId),
          { start: new Date(from), end: new Date(to), timeZone },
        );
        return [...busy.values()].flat().map((b) => ({ start: b.start.getTime(), end: b.end.getTime() }));
      }),
    );
    return results.flat();
  }

  private countSavedCalls(calendars: CalendarRow[]): void {
    const perProvider = new Map<string, Set<number>>();
    for (const c of calendars) perProvider.set(c.integration, (perProvider.get(c.integration) ?? new Set()).add(c.credentialId));
    for (const [provider, credentials] of perProvider) this.metrics.providerCallsSaved.inc({ provider }, credentials.size);
  }

  private async resyncInBackground(selectedCalendarId: number): Promise<void> {
    await this.jobs
      .enqueue(SYNC_CALENDAR_JOB, { selectedCalendarId, reason: 'stale cache' }, syncJobOptions(selectedCalendarId))
      .catch(() => undefined);
  }
}
