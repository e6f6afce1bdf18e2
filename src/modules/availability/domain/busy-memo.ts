import { isoInstant } from './iso-instant.js';
import type { Interval } from './intervals.js';

/**
 * Merged busy timelines, of single calendars and of calendar sets, over their whole cached window,
 * keyed by everything they depend on: the calendars and the `cacheVersion` of each (it moves with
 * every change to the calendar's cached events, in the same transaction), the window and the time
 * zone. A change anywhere changes the key, so a stale timeline is never served; it just ages out.
 * Any range inside the window is then a binary search away. A timeline is sorted, merged
 * intervals packed as [start0, end0, start1, end1, …] in epoch ms: 16 bytes an interval.
 */
export class BusyMemo {
  private readonly entries = new Map<string, Float64Array>();

  constructor(private readonly capacity = 500) {}

  static key(parts: {
    calendars: Array<{ id: number; version: number | string }>;
    from: number;
    to: number;
    timeZone: string;
  }): string {
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

/** The parts of a timeline inside [from, to). */
export function clipTimeline(timeline: Float64Array, from: number, to: number): Interval[] {
  const count = timeline.length / 2;
  const result: Interval[] = [];
  for (let i = firstEndingAfter(timeline, from); i < count && timeline[2 * i] < to; i++) {
    result.push({ start: Math.max(timeline[2 * i], from), end: Math.min(timeline[2 * i + 1], to) });
  }
  return result;
}

/** The part of a timeline inside [from, to), as a timeline. */
export function clipPacked(timeline: Float64Array, from: number, to: number): Float64Array {
  const first = firstEndingAfter(timeline, from);
  let last = first;
  while (last < timeline.length / 2 && timeline[2 * last] < to) last++;
  const out = timeline.slice(2 * first, 2 * last);
  if (out.length > 0) {
    out[0] = Math.max(out[0], from);
    out[out.length - 1] = Math.min(out[out.length - 1], to);
  }
  return out;
}

/** One timeline out of several (each sorted and merged): overlapping and touching intervals joined. */
export function mergeTimelines(parts: Float64Array[]): Float64Array {
  let merged: Float64Array = new Float64Array(0);
  for (const part of parts) merged = merged.length === 0 ? part : part.length === 0 ? merged : mergeTwo(merged, part);
  return merged;
}

/** Two sorted, merged timelines into one, in a single pass. */
function mergeTwo(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    let start: number;
    let end: number;
    if (j >= b.length || (i < a.length && a[i] <= b[j])) {
      start = a[i];
      end = a[i + 1];
      i += 2;
    } else {
      start = b[j];
      end = b[j + 1];
      j += 2;
    }
    if (n > 0 && start <= out[n - 1]) {
      if (end > out[n - 1]) out[n - 1] = end;
    } else {
      out[n] = start;
      out[n + 1] = end;
      n += 2;
    }
  }
  return out.slice(0, n);
}

/** Each timeline's instants as ISO strings, formatted on first use and kept as long as the timeline. */
const formatted = new WeakMap<Float64Array, string[]>();

/**
 * `clipTimeline` rendered as the API answers it (ISO instants): the instants of a memoized
 * timeline are formatted once, only the two clipped ends of a range are new.
 */
export function renderClipped(timeline: Float64Array, from: number, to: number): Array<{ start: string; end: string }> {
  // Filled as ranges ask for them: a timeline spans the whole cached window, a range a part of it.
  let iso = formatted.get(timeline);
  if (!iso) {
    iso = new Array<string>(timeline.length);
    formatted.set(timeline, iso);
  }
  const count = timeline.length / 2;
  const result: Array<{ start: string; end: string }> = [];
  for (let i = firstEndingAfter(timeline, from); i < count && timeline[2 * i] < to; i++) {
    result.push({
      start: timeline[2 * i] < from ? isoInstant(from) : (iso[2 * i] ??= isoInstant(timeline[2 * i])),
      end: timeline[2 * i + 1] > to ? isoInstant(to) : (iso[2 * i + 1] ??= isoInstant(timeline[2 * i + 1])),
    });
  }
  return result;
}

/** The first interval ending after `from` (ends ascend, as the intervals are merged and sorted). */
function firstEndingAfter(timeline: Float64Array, from: number): number {
  let low = 0;
  let high = timeline.length / 2;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (timeline[2 * mid + 1] <= from) low = mid + 1;
    else high = mid;
  }
  return low;
}
