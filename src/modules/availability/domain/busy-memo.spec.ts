import { BusyMemo, clipPacked, clipTimeline, mergeTimelines, renderClipped } from './busy-memo.js';
import { type Interval, mergeIntervals } from './intervals.js';

/** Sorted, merged intervals packed the way the memo keeps them. */
function toTimeline(intervals: Interval[]): Float64Array {
  return Float64Array.from(intervals.flatMap((i) => [i.start, i.end]));
}

describe('BusyMemo', () => {
  const key = (version: number, from = 0) => BusyMemo.key({ calendars: [{ id: 1, version }], from, to: 100, timeZone: 'UTC' });

  it("misses once a calendar's cached events changed (its version moved)", () => {
    const memo = new BusyMemo();
    memo.set(key(1), toTimeline([{ start: 1, end: 2 }]));
    expect(Array.from(memo.get(key(1)) ?? [])).toEqual([1, 2]);
    expect(memo.get(key(2))).toBeUndefined();
  });

  it('evicts the least recently used entry past its capacity', () => {
    const memo = new BusyMemo(2);
    memo.set(key(1, 1), toTimeline([]));
    memo.set(key(1, 2), toTimeline([]));
    memo.get(key(1, 1));
    memo.set(key(1, 3), toTimeline([]));
    expect(memo.get(key(1, 2))).toBeUndefined();
    expect(memo.get(key(1, 1))).toBeDefined();
    expect(memo.get(key(1, 3))).toBeDefined();
  });
});

describe('clipTimeline', () => {
  const timeline = toTimeline([
    { start: 10, end: 20 },
    { start: 30, end: 40 },
    { start: 50, end: 60 },
  ]);

  it('returns the intervals overlapping the range, clipped to it', () => {
    expect(clipTimeline(timeline, 15, 55)).toEqual([
      { start: 15, end: 20 },
      { start: 30, end: 40 },
      { start: 50, end: 55 },
    ]);
    expect(clipTimeline(timeline, 20, 30)).toEqual([]);
    expect(clipTimeline(timeline, 0, 100)).toHaveLength(3);
    expect(clipTimeline(timeline, 60, 100)).toEqual([]);
    expect(clipTimeline(toTimeline([]), 0, 100)).toEqual([]);
  });
});

describe('mergeTimelines', () => {
  it('joins overlapping and touching intervals of several calendars, in order', () => {
    const a = toTimeline([
      { start: 10, end: 20 },
      { start: 40, end: 50 },
      { start: 90, end: 95 },
    ]);
    const b = toTimeline([
      { start: 15, end: 30 },
      { start: 50, end: 60 },
    ]);
    const c = toTimeline([{ start: 0, end: 5 }]);
    expect(Array.from(mergeTimelines([a, b, c, toTimeline([])]))).toEqual([0, 5, 10, 30, 40, 60, 90, 95]);
  });

  it('agrees with merging all the intervals afresh, for random calendars', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let round = 0; round < 50; round++) {
      const calendars = Array.from({ length: 1 + Math.floor(random() * 5) }, () =>
        Array.from({ length: Math.floor(random() * 30) }, () => {
          const start = Math.floor(random() * 1000);
          return { start, end: start + 1 + Math.floor(random() * 50) };
        }),
      );
      const expected = mergeIntervals(calendars.flat(), 0, 2000).flatMap((i) => [i.start, i.end]);
      const timelines = calendars.map((c) => toTimeline(mergeIntervals(c, 0, 2000)));
      expect(Array.from(mergeTimelines(timelines))).toEqual(expected);
    }
  });

  it('returns a single timeline as it is, and nothing for nothing', () => {
    const a = toTimeline([{ start: 1, end: 2 }]);
    expect(mergeTimelines([a, toTimeline([])])).toBe(a);
    expect(mergeTimelines([])).toHaveLength(0);
  });
});

describe('renderClipped', () => {
  const day = Date.UTC(2026, 10, 23);
  const timeline = toTimeline([
    { start: day + 9 * 3600_000, end: day + 10 * 3600_000 },
    { start: day + 12 * 3600_000, end: day + 13.5 * 3600_000 },
    { start: day + 30 * 3600_000, end: day + 31 * 3600_000 },
  ]);
  const iso = (ms: number) => new Date(ms).toISOString();

  it.each([
    ['the whole timeline', day, day + 48 * 3600_000],
    ['a range cutting into the first and the last interval', day + 9.5 * 3600_000, day + 30.25 * 3600_000],
    ['a range between intervals', day + 10 * 3600_000, day + 12 * 3600_000],
    ['a range inside one interval', day + 12.25 * 3600_000, day + 12.5 * 3600_000],
  ])('answers %s exactly as clipping then formatting would', (_label, from, to) => {
    const expected = clipTimeline(timeline, from, to).map((i) => ({ start: iso(i.start), end: iso(i.end) }));
    expect(renderClipped(timeline, from, to)).toEqual(expected);
    // Formatted once, the same answer again.
    expect(renderClipped(timeline, from, to)).toEqual(expected);
  });
});

describe('clipPacked', () => {
  const timeline = Float64Array.from([10, 20, 30, 40, 50, 60]);

  it('keeps the intervals inside the range, cutting the two at its ends', () => {
    expect(Array.from(clipPacked(timeline, 15, 55))).toEqual([15, 20, 30, 40, 50, 55]);
    expect(Array.from(clipPacked(timeline, 20, 50))).toEqual([30, 40]);
    expect(Array.from(clipPacked(timeline, 0, 100))).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('is empty for a range between or beyond the intervals', () => {
    expect(Array.from(clipPacked(timeline, 20, 30))).toEqual([]);
    expect(Array.from(clipPacked(timeline, 60, 90))).toEqual([]);
  });
});
