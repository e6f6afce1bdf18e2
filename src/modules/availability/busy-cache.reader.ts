import { Injectable } from '@nestjs/common';
import { CachedBusyTimelinesReadModel, type UserTimelines } from '../sync/read-models/cached-busy-timelines.read-model.js';
import { BusyMemo, clipPacked, mergeTimelines } from './domain/busy-memo.js';

/** A cached calendar as the memo keys it. */
export interface CachedCalendarRef {
  id: number;
  /** Moves with every change to the calendar's cached events. */
  cacheVersion: string;
}

/** `BusyCacheReader.prefetch`'s read, started before the user's calendars are known. */
export type PrefetchedTimelines = Promise<{ window: { start: number; end: number }; read: UserTimelines | null } | null>;

/** How many users the reader remembers having served (about the memo's reach: past it, answers are rarely memoized). */
const RECENT_USERS = 1000;

/**
 * Busy timelines from the cache, memoized (see BusyMemo): per calendar set, and below that per
 * calendar, so a change to one calendar re-reads only that calendar's events. Reads through the
 * sync module's `CachedBusyTimelinesReadModel`.
 *
 * For a user not served lately, whose answer is unlikely to be memoized, `prefetch` reads every
 * calendar's timeline beside the caller's read of the user's calendars and flags; `timeline` then
 * takes a calendar from it only when it was read at the calendar's current version and in the
 * same time zone (one statement read the events and the version, so a timeline never lands in
 * the memo under a version newer than its events), and reads anything else itself.
 */
@Injectable()
export class BusyCacheReader {
  private readonly memo = new BusyMemo();
  private readonly recentUsers = new Map<number, true>();

  constructor(private readonly timelines: CachedBusyTimelinesReadModel) {}

  /**
   * Starts reading the user's timelines over `window` when the user was not served lately; null
   * otherwise. Never rejects: a failed prefetch is read again by `timeline`.
   */
  prefetch(userId: number, window: { start: number; end: number }): PrefetchedTimelines | null {
    if (this.recentUsers.has(userId)) {
      this.recentUsers.delete(userId);
      this.recentUsers.set(userId, true);
      return null;
    }
    this.recentUsers.set(userId, true);
    if (this.recentUsers.size > RECENT_USERS) this.recentUsers.delete(this.recentUsers.keys().next().value as number);
    return this.timelines.readForUser(userId, window.start, window.end).then(
      (read) => ({ window, read }),
      () => null,
    );
  }

  /** The calendars' merged busy timeline over their cached window `covered` (epoch ms). */
  async timeline(
    calendars: CachedCalendarRef[],
    covered: { start: number; end: number },
    timeZone: string,
    prefetched?: PrefetchedTimelines | null,
  ): Promise<Float64Array> {
    const keyOf = (set: CachedCalendarRef[]) =>
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
      let missing: CachedCalendarRef[] = [];
      for (const calendar of calendars) {
        const own = calendars.length === 1 ? undefined : this.memo.get(keyOf([calendar]));
        if (own) parts.push(own);
        else missing.push(calendar);
      }
      const found = new Map<number, Float64Array>();
      const early = missing.length > 0 && prefetched ? await prefetched : null;
      if (
        early?.read &&
        early.read.timeZone === timeZone &&
        early.window.start === covered.start &&
        early.window.end >= covered.end
      ) {
        for (const calendar of missing) {
          const read = early.read.calendars.get(calendar.id);
          if (read && read.cacheVersion === calendar.cacheVersion) {
            found.set(calendar.id, clipPacked(read.timeline, covered.start, covered.end));
          }
        }
        missing = missing.filter((c) => !found.has(c.id));
      }
      if (missing.length > 0) {
        const read = await this.timelines.read(
          missing.map((c) => c.id),
          covered.start,
          covered.end,
          timeZone,
        );
        for (const calendar of missing) found.set(calendar.id, read.get(calendar.id) ?? new Float64Array(0));
      }
      for (const [id, own] of found) {
        if (calendars.length > 1) this.memo.set(keyOf([calendars.find((c) => c.id === id) as CachedCalendarRef]), own);
        parts.push(own);
      }
      timeline = mergeTimelines(parts);
      this.memo.set(setKey, timeline);
    }
    return timeline;
  }
}
