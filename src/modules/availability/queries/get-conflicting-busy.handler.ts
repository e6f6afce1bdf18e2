import { Inject, Logger } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import {
  type BusySourceCalendar,
  BusySourceCalendarsReadModel,
} from '../../connections/read-models/busy-source-calendars.read-model.js';
import { CACHE_FLAG, FeatureFlagService } from '../../feature-flags/index.js';
import { isProviderError } from '../../providers/provider.errors.js';
import { cacheWindow } from '../../sync/index.js';
import { CachedBusyEventsReadModel } from '../../sync/read-models/cached-busy-events.read-model.js';
import { type CacheTrustConfig, isCacheTrusted } from '../domain/cache-trust.js';
import { type Interval, mergeIntervals } from '../domain/intervals.js';
import { isoInstant } from '../domain/iso-instant.js';
import { LiveBusyReader } from '../live-busy.reader.js';
import { type ConflictingBusy, GetConflictingBusyQuery } from './get-conflicting-busy.query.js';

/**
 * The longest a conflict check waits for live calendars. A calendar reschedule waits for this
 * check before it is applied, so it is kept well below the provider timeout (each call still has
 * that one): a provider that hangs costs a reschedule a few seconds, and it is then decided
 * without that calendar (see `unchecked`).
 */
const LIVE_BUDGET_MS = 4_000;

/**
 * Busy time that makes a calendar reschedule a conflict (see `GetConflictingBusyQuery`). Decides
 * cache or live per calendar as busy-times does (`isCacheTrusted`, and the cached window must cover
 * the time). Unlike busy-times it reads events with their ids, so a booking's own event (and other
 * bookings' events) can be left out: from the cache by id; live with a listing of the window for a
 * calendar that holds such an event, and a free/busy answer for the others.
 */
@QueryHandler(GetConflictingBusyQuery)
export class GetConflictingBusyHandler implements IQueryHandler<GetConflictingBusyQuery> {
  private readonly logger = new Logger('ConflictingBusy');
  private readonly trust: CacheTrustConfig;

  constructor(
    private readonly sources: BusySourceCalendarsReadModel,
    private readonly flags: FeatureFlagService,
    private readonly cached: CachedBusyEventsReadModel,
    private readonly live: LiveBusyReader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.trust = { staleAfterMs: config.cacheStaleAfterSeconds * 1000 };
  }

  async execute(query: GetConflictingBusyQuery): Promise<ConflictingBusy> {
    const { userId, start, end } = query;
    const [sources, cacheOn] = await Promise.all([this.sources.forUser(userId), this.flags.isEnabled(CACHE_FLAG, userId)]);
    const exclude = await query.exclude;
    if (!sources || sources.calendars.length === 0) return { busy: [], unchecked: null };
    const from = start.getTime();
    const to = end.getTime();
    const now = Date.now();
    const window = cacheWindow(this.config.syncWindowDays, now);
    const excluded = (calendar: BusySourceCalendar) =>
      new Set(
        exclude
          .filter((k) => k.credentialId === calendar.credentialId && k.externalCalendarId === calendar.externalId)
          .map((k) => k.externalEventId),
      );

    const unchecked: string[] = [];
    const cached: BusySourceCalendar[] = [];
    const live: BusySourceCalendar[] = [];
    for (const calendar of sources.calendars) {
      if (calendar.credentialStatus !== 'active') {
        unchecked.push(`calendar ${calendar.externalId}: its credential is ${calendar.credentialStatus}`);
        continue;
      }
      const coveredTo = Math.min(window.end, calendar.cacheCoveredUntil?.getTime() ?? window.start);
      const covers = from >= window.start && to <= coveredTo;
      if (covers && isCacheTrusted({ ...calendar, cacheOn }, now, this.trust)) cached.push(calendar);
      else live.push(calendar);
    }

    const intervals: Interval[] = [];
    const byId = new Map(cached.map((c) => [c.id, excluded(c)]));
    for (const event of await this.cached.overlapping([...byId.keys()], start, end, sources.timeZone)) {
      if (!byId.get(event.selectedCalendarId)?.has(event.externalId)) intervals.push(event);
    }

    if (live.length > 0) {
      const freeBusy = live.filter((c) => excluded(c).size === 0);
      const listed = live.filter((c) => excluded(c).size > 0);
      const reads: Array<Promise<Interval[]>> = [
        ...(freeBusy.length > 0 ? [this.live.read(freeBusy, from, to, sources.timeZone)] : []),
        ...listed.map(async (calendar) => {
          const skip = excluded(calendar);
          return (await this.live.busyEvents(calendar, from, to)).filter((e) => !skip.has(e.id));
        }),
      ];
      const settled = await withinBudget(Promise.allSettled(reads), LIVE_BUDGET_MS);
      if (!settled) {
        unchecked.push(`live calendars did not answer within ${LIVE_BUDGET_MS} ms`);
      } else {
        for (const result of settled) {
          if (result.status === 'fulfilled') intervals.push(...result.value);
          else {
            // The kind only: a provider's message may quote a request, never worth the risk in a history.
            const why = isProviderError(result.reason) ? result.reason.kind : 'error';
            unchecked.push(`a live calendar could not be read (${why})`);
            this.logger.warn(`User ${userId}: a calendar could not be read for a conflict check (${why})`);
          }
        }
      }
    }

    const busy = mergeIntervals(
      intervals.filter((i) => i.start < to && i.end > from),
      from,
      to,
    ).map((i) => ({ start: isoInstant(i.start), end: isoInstant(i.end) }));
    return { busy, unchecked: unchecked.length > 0 ? unchecked.join('; ') : null };
  }
}

/** The promise's value, or null when it takes longer than `ms` (it is left to finish on its own). */
async function withinBudget<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
