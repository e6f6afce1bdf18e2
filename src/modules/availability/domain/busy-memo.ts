import type { Interval } from './intervals.js';

/**
 * Recently computed cached-busy answers, keyed by everything they depend on: the calendars and
 * the `syncedAt` of each (every sync that writes the cache moves it), the range and the time
 * zone. A sync anywhere changes the key, so a stale entry is never served; it just ages out.
 */
export class BusyMemo {
  private readonly entries = new Map<string, Interval[]>();

  constructor(private readonly capacity = 500) {}

  static key(parts: { calendars: Array<{ id: number; version: number }>; from: number; to: number; timeZone: string }): string {
    return `${parts.timeZone}|${parts.from}|${parts.to}|${parts.calendars.map((c) => `${c.id}@${c.version}`).join(',')}`;
  }

  get(key: string): Interval[] | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Most recently used last, so eviction drops the coldest entry.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, intervals: Interval[]): void {
    this.entries.set(key, intervals);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }
}
