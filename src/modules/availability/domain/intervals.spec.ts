import { mergeIntervals, outside } from './intervals.js';

describe('mergeIntervals', () => {
  it('merges overlapping and adjacent intervals, clips to the range and sorts', () => {
    expect(
      mergeIntervals(
        [
          { start: 50, end: 60 },
          { start: 10, end: 20 },
          { start: 20, end: 30 },
          { start: 25, end: 27 },
          { start: 5, end: 12 },
          { start: 95, end: 120 },
          { start: 200, end: 300 },
        ],
        0,
        100,
      ),
    ).toEqual([
      { start: 5, end: 30 },
      { start: 50, end: 60 },
      { start: 95, end: 100 },
    ]);
  });

  it('drops empty and out-of-range intervals', () => {
    expect(
      mergeIntervals(
        [
          { start: 10, end: 10 },
          { start: -5, end: 0 },
        ],
        0,
        100,
      ),
    ).toEqual([]);
  });
});

describe('outside', () => {
  it('returns the uncovered parts of a range', () => {
    expect(outside(0, 100, 20, 50)).toEqual([
      { start: 0, end: 20 },
      { start: 50, end: 100 },
    ]);
    expect(outside(30, 40, 20, 50)).toEqual([]);
    expect(outside(60, 80, 20, 50)).toEqual([{ start: 60, end: 80 }]);
  });
});
