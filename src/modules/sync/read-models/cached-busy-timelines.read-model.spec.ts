import { clipAndMerge } from './cached-busy-timelines.read-model.js';

describe("clipAndMerge (a calendar's cached events, in start order, to its busy timeline)", () => {
  it('joins overlapping, contained and touching spans, and keeps gaps', () => {
    expect(Array.from(clipAndMerge('10,20,15,25,16,18,25,30,40,50', 0, 100))).toEqual([10, 30, 40, 50]);
  });

  it('clips spans to the range and drops those outside it or left empty', () => {
    expect(Array.from(clipAndMerge('0,5,5,12,30,60,90,120,120,130', 10, 100))).toEqual([10, 12, 30, 60, 90, 100]);
    expect(Array.from(clipAndMerge('0,10,100,110', 10, 100))).toEqual([]);
  });

  it('keeps a later span that ends before the current one inside it', () => {
    expect(Array.from(clipAndMerge('10,100,20,30,40,50,100,101', 0, 1000))).toEqual([10, 101]);
  });

  it('reads epoch milliseconds exactly', () => {
    const start = Date.parse('2026-12-03T09:15:00.250Z');
    const end = Date.parse('2026-12-03T10:00:00.750Z');
    expect(Array.from(clipAndMerge(`${start},${end}`, 0, Number.MAX_SAFE_INTEGER))).toEqual([start, end]);
  });
});
