import { Injectable } from '@nestjs/common';
import { CachedBusyTimelinesReadModel } from '../sync/read-models/cached-busy-timelines.read-model.js';
import { BusyMemo, mergeTimelines } from './domain/busy-memo.js';

/** A cached calendar as the memo keys it. */
export interface CachedCalendarRef {
  id: number;
  /** Moves with every change to the calendar's cached events. */
  cacheVersion: string;
}

/**
 * Busy timelines from the cache, memoized (see BusyMemo): per calendar set, and below that per
 * calendar, so a change to one calendar re-reads only that calendar's events. Reads through the
 * sync module's `CachedBusyTimelinesReadModel`.
 */
@Injectable()
export class BusyCacheReader {
  private readonly memo = new BusyMemo();

  constructor(private readonly timelines: CachedBusyTimelinesReadModel) {}

  /** The calendars' merged busy timeline over their cached window `covered` (epoch ms). */
  async timeline(
    calendars: CachedCalendarRef[],
    covered: { start: number; end: number },
    timeZone: string,
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
      const missing: CachedCalendarRef[] = [];
      for (const calendar of calendars) {
        const own = calendars.length === 1 ? undefined : this.memo.get(keyOf([calendar]));
        if (own) parts.push(own);
        else missing.push(calendar);
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
      timeline = mergeTimelines(parts);
      this.memo.set(setKey, timeline);
    }
    return timeline;
  }
}
