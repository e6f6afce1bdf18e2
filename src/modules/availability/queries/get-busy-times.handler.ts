import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { MetricsService } from '../../../infrastructure/metrics/metrics.service.js';
import { UserNotFoundError } from '../../accounts/index.js';
import {
  type BusySourceCalendar,
  type BusySources,
  BusySourceCalendarsReadModel,
} from '../../connections/read-models/busy-source-calendars.read-model.js';
import { CACHE_FLAG, FeatureFlagService } from '../../feature-flags/index.js';
import { cacheWindow } from '../../sync/index.js';
import { BusyRangeTooLongError, CalendarCredentialRevokedError } from '../availability.errors.js';
import { BusyCacheReader, type PrefetchedTimelines } from '../busy-cache.reader.js';
import { type CacheTrustConfig, isCacheTrusted, needsResync } from '../domain/cache-trust.js';
import { type Interval, mergeIntervals, outside } from '../domain/intervals.js';
import { isoInstant } from '../domain/iso-instant.js';
import { clipTimeline, renderClipped } from '../domain/busy-memo.js';
import { LiveBusyReader } from '../live-busy.reader.js';
import { StaleCacheResyncer } from '../stale-cache.resyncer.js';
import { type BusyTimes, GetBusyTimesQuery } from './get-busy-times.query.js';

const MAX_RANGE_DAYS = 366;

/**
 * Busy times of a user's selected calendars. A calendar whose cache is trusted (`isCacheTrusted`)
 * is answered from PostgreSQL (`BusyCacheReader`); every other calendar, and any part of the range
 * outside the cached window, live from its provider (`LiveBusyReader`). A calendar whose cache went
 * stale is resynced in the background (`StaleCacheResyncer`), not waited for.
 * Never guesses: a calendar that cannot be read fails the request rather than look free.
 */
@QueryHandler(GetBusyTimesQuery)
export class GetBusyTimesHandler implements IQueryHandler<GetBusyTimesQuery> {
  private readonly trust: CacheTrustConfig;

  constructor(
    private readonly sources: BusySourceCalendarsReadModel,
    private readonly flags: FeatureFlagService,
    private readonly cache: BusyCacheReader,
    private readonly live: LiveBusyReader,
    private readonly resyncer: StaleCacheResyncer,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.trust = { staleAfterMs: config.cacheStaleAfterSeconds * 1000 };
  }

  async execute({ userId, start, end }: GetBusyTimesQuery): Promise<BusyTimes> {
    const started = performance.now();
    if (end.getTime() - start.getTime() > MAX_RANGE_DAYS * 86_400_000) {
      throw new BusyRangeTooLongError(MAX_RANGE_DAYS);
    }
    const from = start.getTime();
    const to = end.getTime();
    const window = cacheWindow(this.config.syncWindowDays);
    // A user not served lately: the calendars, their cached timelines of the range and the flag in one statement.
    const flagsMark = this.flags.readMark;
    const prefetched = this.cache.prefetch(
      userId,
      { start: Math.max(from, window.start), end: Math.min(to, window.end) },
      CACHE_FLAG,
    );
    const [sources, cacheOn] = await this.sourcesAndFlag(userId, prefetched, flagsMark);
    // As `GetUserQuery` would answer.
    if (!sources) throw new UserNotFoundError(userId);
    const { timeZone, calendars } = sources;
    const now = Date.now();

    const cached: BusySourceCalendar[] = [];
    const live: BusySourceCalendar[] = [];
    for (const calendar of calendars) {
      if (calendar.credentialStatus !== 'active') {
        throw new CalendarCredentialRevokedError(calendar.externalId, calendar.credentialId);
      }
      const state = { ...calendar, cacheOn };
      const trusted = isCacheTrusted(state, now, this.trust);
      if (trusted) cached.push(calendar);
      else live.push(calendar);
      if (needsResync(state, trusted)) this.resyncer.request(calendar.id);
    }

    const intervals: Interval[] = [];
    const cachedParts: Array<{ timeline: Float64Array; from: number; to: number }> = [];
    let usedLive = false;
    // Calendars whose cache covers the same stretch are read together; the rest of the range is live.
    const byCoverage = new Map<number, BusySourceCalendar[]>();
    for (const calendar of cached) {
      // Trusted, so covered.
      const coveredTo = Math.min(window.end, calendar.cacheCoveredUntil?.getTime() ?? window.start);
      byCoverage.set(coveredTo, [...(byCoverage.get(coveredTo) ?? []), calendar]);
    }
    for (const [coveredTo, group] of byCoverage) {
      const cachedFrom = Math.max(from, window.start);
      const cachedTo = Math.min(to, coveredTo);
      if (cachedFrom < cachedTo) {
        const timeline = await this.cache.timeline(group, { start: window.start, end: coveredTo }, timeZone, prefetched, {
          start: cachedFrom,
          end: cachedTo,
        });
        cachedParts.push({ timeline, from: cachedFrom, to: cachedTo });
        this.countSavedCalls(group);
      }
      for (const part of outside(from, to, window.start, coveredTo)) {
        intervals.push(...(await this.live.read(group, part.start, part.end, timeZone)));
        usedLive = true;
      }
    }
    if (live.length > 0) {
      intervals.push(...(await this.live.read(live, from, to, timeZone)));
      usedLive = true;
    }
    const usedCache = cachedParts.length > 0;
    const source = usedCache && usedLive ? 'mixed' : usedCache || (!usedLive && cacheOn) ? 'cache' : 'live';
    this.metrics.busyTimeRequests.inc({ source });
    // Reading and merging; formatting the answer (a memoized copy in the usual case) is left out.
    this.metrics.busyTimeDuration.observe({ source }, (performance.now() - started) / 1000);
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

  /** The user's busy sources and cache flag: from the prefetch when there is one, read side by side otherwise. */
  private async sourcesAndFlag(
    userId: number,
    prefetched: PrefetchedTimelines | null,
    flagsMark: number,
  ): Promise<[BusySources | null, boolean]> {
    const early = prefetched ? await prefetched : null;
    if (early)
      return [early.sources, early.flag ? this.flags.resolveRead(CACHE_FLAG, userId, early.flag, flagsMark).enabled : false];
    return Promise.all([this.sources.forUser(userId), this.flags.isEnabled(CACHE_FLAG, userId)]);
  }

  private countSavedCalls(calendars: BusySourceCalendar[]): void {
    const perProvider = new Map<string, Set<number>>();
    for (const c of calendars) perProvider.set(c.integration, (perProvider.get(c.integration) ?? new Set()).add(c.credentialId));
    for (const [provider, credentials] of perProvider) this.metrics.providerCallsSaved.inc({ provider }, credentials.size);
  }
}
