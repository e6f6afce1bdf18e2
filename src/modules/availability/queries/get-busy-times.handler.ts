import { BadRequestException, ConflictException, Inject } from '@nestjs/common';
import { type IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { MetricsService } from '../../../infrastructure/metrics/metrics.service.js';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { GetUserQuery } from '../../accounts/queries/get-user.query.js';
import { CredentialAuthFactory } from '../../connections/credential-auth.factory.js';
import type { CredentialEntity } from '../../connections/entities/credential.entity.js';
import type { SelectedCalendarEntity } from '../../connections/entities/selected-calendar.entity.js';
import { CACHE_FLAG, FeatureFlagService } from '../../feature-flags/feature-flag.service.js';
import { CalendarProviders } from '../../providers/calendar-provider.port.js';
import { SYNC_CALENDAR_JOB, cacheWindow, syncJobOptions } from '../../sync/sync.constants.js';
import { type Interval, mergeIntervals, outside } from '../domain/intervals.js';
import { isoInstant } from '../domain/iso-instant.js';
import { BusyMemo, clipTimeline, toTimeline } from '../domain/busy-memo.js';
import { type BusyTimes, GetBusyTimesQuery } from './get-busy-times.query.js';

const MAX_RANGE_DAYS = 366;

/**
 * The cached busy intervals of calendars $1 within [$2, $3) (epoch ms), clipped and merged by
 * PostgreSQL (`range_agg`), as the CTE `merged(r)`. All-day events block whole days in the
 * user's time zone $4, whatever zone the event was made in.
 */
const MERGED_CACHE_SQL = `
  WITH bounds AS (SELECT to_timestamp($2::float8 / 1000) AS lo, to_timestamp($3::float8 / 1000) AS hi),
       events AS (
         SELECT CASE WHEN "isAllDay" THEN "startDate"::timestamp AT TIME ZONE $4 ELSE "start" END AS s,
                CASE WHEN "isAllDay" THEN "endDate"::timestamp AT TIME ZONE $4 ELSE "end" END AS e
           FROM "CalendarCacheEvent", bounds
          WHERE "selectedCalendarId" = ANY($1::int[])
            AND "start" < bounds.hi + interval '1 day' AND "end" > bounds.lo - interval '1 day'),
       merged AS (
         SELECT unnest(range_agg(tstzrange(GREATEST(events.s, bounds.lo), LEAST(events.e, bounds.hi)))) AS r
           FROM events, bounds
          WHERE events.e > bounds.lo AND events.s < bounds.hi AND events.e > events.s)`;

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
    private readonly queries: QueryBus,
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
    const [user, cacheOn, calendars] = await Promise.all([
      this.queries.execute(new GetUserQuery(userId)),
      this.flags.isEnabled(CACHE_FLAG, userId),
      this.busyCalendars(userId),
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
    let usedCache = false;
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
        intervals.push(
          ...(await this.fromCacheMemoized(group, { start: window.start, end: coveredTo }, cachedFrom, cachedTo, user.timeZone)),
        );
        usedCache = true;
        this.countSavedCalls(group);
      }
      for (const part of outside(from, to, window.start, coveredTo)) {
        intervals.push(...(await this.fromProvider(group, part.start, part.end)));
        usedLive = true;
      }
    }
    if (live.length > 0) {
      intervals.push(...(await this.fromProvider(live, from, to)));
      usedLive = true;
    }
    const source = usedCache && usedLive ? 'mixed' : usedCache || (!usedLive && cacheOn) ? 'cache' : 'live';
    this.metrics.busyTimeRequests.inc({ source });
    return {
      source,
      busy: mergeIntervals(intervals, from, to).map((i) => ({ start: isoInstant(i.start), end: isoInstant(i.end) })),
    };
  }

  private async busyCalendars(userId: number): Promise<CalendarRow[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT sc."id", sc."credentialId", sc."externalId", sc."integration", sc."cacheEnabled", sc."syncToken", sc."cacheCoveredUntil",
              sc."channelId", sc."channelExpiration", sc."syncedAt", c."status" AS "credentialStatus"
         FROM "SelectedCalendar" sc JOIN "Credential" c ON c."id" = sc."credentialId"
        WHERE sc."userId" = $1 AND sc."busySource"
        ORDER BY sc."id"`,
      [userId],
    );
    return rows.map(
      (r) =>
        ({
          ...r,
          credential: { id: r.credentialId, status: r.credentialStatus },
        }) as unknown as CalendarRow,
    );
  }

  /** The calendars' merged busy timeline over their cached window (memoized), clipped to [from, to). */
  private async fromCacheMemoized(
    calendars: CalendarRow[],
    covered: { start: number; end: number },
    from: number,
    to: number,
    timeZone: string,
  ): Promise<Interval[]> {
    const key = BusyMemo.key({
      calendars: calendars.map((c) => ({ id: c.id, version: (c.syncedAt as Date).getTime() })),
      from: covered.start,
      to: covered.end,
      timeZone,
    });
    let timeline = this.memo.get(key);
    if (!timeline) {
      timeline = toTimeline(
        await this.fromCache(
          calendars.map((c) => c.id),
          covered.start,
          covered.end,
          timeZone,
        ),
      );
      this.memo.set(key, timeline);
    }
    return clipTimeline(timeline, from, to);
  }

  private async fromCache(calendarIds: number[], from: number, to: number, timeZone: string): Promise<Interval[]> {
    // One text value ("start,end,start,end…" in epoch ms) travels and parses far faster than a row per interval.
    const rows: Array<{ spans: string }> = await this.dataSource.query(
      `${MERGED_CACHE_SQL}
       SELECT coalesce(string_agg((extract(epoch FROM lower(r)) * 1000)::bigint || ',' || (extract(epoch FROM upper(r)) * 1000)::bigint,
                                  ',' ORDER BY lower(r)), '') AS spans
         FROM merged`,
      [calendarIds, from, to, timeZone],
    );
    const spans = rows[0].spans;
    if (spans === '') return [];
    const numbers = spans.split(',');
    const intervals: Interval[] = new Array(numbers.length / 2);
    for (let i = 0; i < numbers.length; i += 2) intervals[i / 2] = { start: Number(numbers[i]), end: Number(numbers[i + 1]) };
    return intervals;
  }

  /** One provider call per credential, for all of its calendars. */
  private async fromProvider(calendars: CalendarRow[], from: number, to: number): Promise<Interval[]> {
    const byCredential = new Map<number, CalendarRow[]>();
    for (const c of calendars) byCredential.set(c.credentialId, [...(byCredential.get(c.credentialId) ?? []), c]);
    const results = await Promise.all(
      [...byCredential.entries()].map(async ([credentialId, group]) => {
        const { credential, auth } = await this.credentials.open(credentialId);
        const busy = await this.providers.get(credential.provider).busyTimes(
          auth,
          group.map((c) => c.externalId),
          { start: new Date(from), end: new Date(to) },
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
