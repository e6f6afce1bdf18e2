import { Injectable } from '@nestjs/common';
import type { BusySources } from '../connections/read-models/busy-source-calendars.read-model.js';
import type { FlagInputRow } from '../feature-flags/index.js';
import { CachedBusyTimelinesReadModel, type UserTimelines } from '../sync/read-models/cached-busy-timelines.read-model.js';
import { BusyMemo, clipPacked, mergeTimelines } from './domain/busy-memo.js';

/** A cached calendar as the memo keys it. */
export interface CachedCalendarRef {
  id: number;
  /** Moves with every change to the calendar's cached events. */
  cacheVersion: string;
}

/**
 * `BusyCacheReader.prefetch`'s read: the user's busy sources with their timelines over a range, in
 * one statement; null when it failed (the caller reads the sources itself).
 */
export type PrefetchedTimelines = Promise<{
  range: { start: number; end: number };
  sources: BusySources | null;
  read: UserTimelines | null;
  /** The inputs of the flag asked for (`flagInputsSql`); null for an unknown user. */
  flag: FlagInputRow | null;
} | null>;

/** How many users the reader remembers having served (about the memo's reach: past it, answers are rarely memoized). */
const RECENT_USERS = 1000;

/**
 * Busy timelines from the cache, memoized (see BusyMemo): per calendar set, and below that per
 * calendar, so a change to one calendar re-reads only that calendar's events. Reads through the
 * sync module's `CachedBusyTimelinesReadModel`.
 *
 * For a user not served lately, whose answer is unlikely to be memoized, `prefetch` reads the
 * user's busy sources, every one's timeline over the asked range only and the cache flag's inputs,
 * in one statement (so in one snapshot): one round trip instead of three, two of them in a row,
 * and a third of the rows of a whole window. `timeline` answers from it when it holds every calendar not memoized
 * at the calendar's current version and in the same time zone, without memoizing a part;
 * otherwise it reads the whole window as usual.
 */
@Injectable()
export class BusyCacheReader {
  private readonly memo = new BusyMemo();
  private readonly recentUsers = new Map<number, true>();

  constructor(private readonly timelines: CachedBusyTimelinesReadModel) {}

  /**
   * Starts reading the user's busy sources with their timelines over `range`, and the inputs of
   * flag `flag`, when the user was not served lately; null otherwise. Never rejects: after a failed prefetch the caller reads the
   * sources and `timeline` the timelines, as for any other user.
   */
  prefetch(userId: number, range: { start: number; end: number }, flag: string): PrefetchedTimelines | null {
    if (range.start >= range.end) return null;
    if (this.recentUsers.has(userId)) {
      this.recentUsers.delete(userId);
      this.recentUsers.set(userId, true);
      return null;
    }
    this.recentUsers.set(userId, true);
    if (this.recentUsers.size > RECENT_USERS) this.recentUsers.delete(this.recentUsers.keys().next().value as number);
    return this.timelines.readForUser(userId, range.start, range.end, flag).then(
      ({ sources, timelines, flag: inputs }) => ({ range, sources, read: timelines, flag: inputs }),
      () => null,
    );
  }

  /**
   * The calendars' merged busy timeline over their cached window `covered` (epoch ms), or, when a
   * prefetch answers, over `needed` (a part of `covered`) only.
   */
  async timeline(
    calendars: CachedCalendarRef[],
    covered: { start: number; end: number },
    timeZone: string,
    prefetched?: PrefetchedTimelines | null,
    needed: { start: number; end: number } = covered,
  ): Promise<Float64Array> {
    const keyOf = (set: CachedCalendarRef[]) =>
      BusyMemo.key({
        calendars: set.map((c) => ({ id: c.id, version: c.cacheVersion })),
        from: covered.start,
        to: covered.end,
        timeZone,
      });
    const setKey = keyOf(calendars);
    const memoized = this.memo.get(setKey);
    if (memoized) return memoized;
    const parts: Float64Array[] = [];
    const missing: CachedCalendarRef[] = [];
    for (const calendar of calendars) {
      const own = calendars.length === 1 ? undefined : this.memo.get(keyOf([calendar]));
      if (own) parts.push(own);
      else missing.push(calendar);
    }
    if (missing.length > 0 && prefetched) {
      const early = await prefetched;
      const read = early?.read;
      if (read && read.timeZone === timeZone && early.range.start <= needed.start && early.range.end >= needed.end) {
        const own = missing.map((c) => read.calendars.get(c.id));
        if (own.every((r, i) => r !== undefined && r.cacheVersion === missing[i].cacheVersion)) {
          // A part of the window: answered, not memoized.
          const timelines = own.map((r) => (r as { timeline: Float64Array }).timeline);
          return clipPacked(mergeTimelines([...parts, ...timelines]), needed.start, needed.end);
        }
      }
    }
    if (missing.length > 0) {
      const read = await this.timelines.read(
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
    const timeline = mergeTimelines(parts);
    this.memo.set(setKey, timeline);
    return timeline;
  }
}
