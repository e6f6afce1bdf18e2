import type { Interval } from './intervals.js';

/**
 * Merged busy timelines of calendar sets over their whole cached window, keyed by everything
 * they depend on: the calendars and the `syncedAt` of each (every sync that writes the cache
 * moves it), the window and the time zone. A sync anywhere changes the key, so a stale timeline
 * is never served; it just ages out. Any range inside the window is then a binary search away.
 */
export class BusyMemo {
  private readonly entries = new Map<string, Float64Array>();

  constructor(private readonly capacity = 200) {}

  static key(parts: { calendars: Array<{ id: number; version: number }>; from: number; to: number; timeZone: string }): string {
    return `${parts.timeZone}|${parts.from}|${parts.to}|${parts.calendars.map((c) => `${c.id}@${c.version}`).join(',')}`;
  }

  get(key: string): Float64Array | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Most recently used last, so eviction drops the coldest entry.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, timeline: Float64Array): void {
    this.entries.set(key, timeline);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/** Sorted, merged intervals packed as [start0, end0, start1, end1, …]: 16 bytes an interval. */
export function toTimeline(intervals: Interval[]): Float64Array {
  const timeline = new Float64Array(intervals.length * 2);
  intervals.forEach((interval, i) => {
    timeline[2 * i] = interval.start;
    timeline[2 * i + 1] = interval.end;
  });
  return timeline;
}

/** The parts of a timeline inside [from, to). */
export function clipTimeline(timeline: Float64Array, from: number, to: number): Interval[] {
  const count = timeline.length / 2;
  // First interval ending after `from` (ends ascend, as the intervals are merged and sorted).
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (timeline[2 * mid + 1] <= from) low = mid + 1;
    else high = mid;
  }
  const result: Interval[] = [];
  for (let i = low; i < count && timeline[2 * i] < to; i++) {
    result.push({ start: Math.max(timeline[2 * i], from), end: Math.min(timeline[2 * i + 1], to) });
  }
  return result;
}
