import { BusyMemo, clipTimeline, toTimeline } from './busy-memo.js';

describe('BusyMemo', () => {
  const key = (version: number, from = 0) => BusyMemo.key({ calendars: [{ id: 1, version }], from, to: 100, timeZone: 'UTC' });

  it('misses once a calendar has synced again (its version moved)', () => {
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
