import type { CachedBusyTimelinesReadModel, UserTimelines } from '../sync/read-models/cached-busy-timelines.read-model.js';
import { BusyCacheReader } from './busy-cache.reader.js';

const WINDOW = { start: 0, end: 1000 };
const FLAG = 'calendar-subscription-cache';

/** The read model as the reader uses it: what it was asked, and timelines made up per call. */
function readModel(forUser: UserTimelines | null) {
  const reads: number[][] = [];
  let userReads = 0;
  const model = {
    read: async (ids: number[]) => {
      reads.push(ids);
      return new Map(ids.map((id) => [id, Float64Array.from([id, id + 5])]));
    },
    readForUser: async () => {
      userReads += 1;
      return {
        sources: forUser && { timeZone: forUser.timeZone, calendars: [] },
        timelines: forUser,
        flag: forUser && { userFlag: true, teamFlags: null, globalFlag: false },
      };
    },
  };
  return { model: model as unknown as CachedBusyTimelinesReadModel, reads, userReads: () => userReads };
}

const userRead = (timeZone: string, versions: Record<number, string>): UserTimelines => ({
  timeZone,
  calendars: new Map(
    Object.entries(versions).map(([id, cacheVersion]) => [
      Number(id),
      { cacheVersion, timeline: Float64Array.from([100 * Number(id), 100 * Number(id) + 50]) },
    ]),
  ),
});

describe('BusyCacheReader with a prefetch', () => {
  it('answers from the prefetch when it read every calendar at its current version, without memoizing the part', async () => {
    const { model, reads } = readModel(userRead('UTC', { 1: '7', 2: '3' }));
    const reader = new BusyCacheReader(model);
    const calendars = [
      { id: 1, cacheVersion: '7' },
      { id: 2, cacheVersion: '3' },
    ];

    const timeline = await reader.timeline(calendars, WINDOW, 'UTC', reader.prefetch(42, { start: 0, end: 500 }, FLAG), {
      start: 120,
      end: 500,
    });

    expect(reads).toEqual([]);
    expect(Array.from(timeline)).toEqual([120, 150, 200, 250]);
    // The next request reads and memoizes the whole window.
    expect(Array.from(await reader.timeline(calendars, WINDOW, 'UTC'))).toEqual([1, 7]);
    expect(reads).toEqual([[1, 2]]);
  });

  it('reads the whole window as usual when a calendar changed after the prefetch read it', async () => {
    const { model, reads } = readModel(userRead('UTC', { 1: '7', 2: '3' }));
    const reader = new BusyCacheReader(model);

    const timeline = await reader.timeline(
      [
        { id: 1, cacheVersion: '7' },
        { id: 2, cacheVersion: '4' },
      ],
      WINDOW,
      'UTC',
      reader.prefetch(42, WINDOW, FLAG),
    );

    expect(reads).toEqual([[1, 2]]);
    expect(Array.from(timeline)).toEqual([1, 7]);
  });

  it('reads the whole window as usual when the prefetch does not span the range asked for', async () => {
    const { model, reads } = readModel(userRead('UTC', { 1: '7' }));
    const reader = new BusyCacheReader(model);

    await reader.timeline([{ id: 1, cacheVersion: '7' }], WINDOW, 'UTC', reader.prefetch(42, { start: 0, end: 100 }, FLAG), {
      start: 0,
      end: 200,
    });

    expect(reads).toEqual([[1]]);
  });

  it('reads everything itself when the prefetch used another time zone', async () => {
    const { model, reads } = readModel(userRead('Europe/Berlin', { 1: '7' }));
    const reader = new BusyCacheReader(model);

    const timeline = await reader.timeline([{ id: 1, cacheVersion: '7' }], WINDOW, 'UTC', reader.prefetch(42, WINDOW, FLAG));

    expect(reads).toEqual([[1]]);
    expect(Array.from(timeline)).toEqual([1, 6]);
  });

  it("clips the prefetched timeline to the calendar's covered window", async () => {
    const { model, reads } = readModel(userRead('UTC', { 3: '1' }));
    const reader = new BusyCacheReader(model);

    const timeline = await reader.timeline(
      [{ id: 3, cacheVersion: '1' }],
      { start: 0, end: 320 },
      'UTC',
      reader.prefetch(42, WINDOW, FLAG),
    );

    expect(reads).toEqual([]);
    expect(Array.from(timeline)).toEqual([300, 320]);
  });

  it('prefetches for a user only when not served lately', async () => {
    const { model, userReads } = readModel(null);
    const reader = new BusyCacheReader(model);
    expect(reader.prefetch(42, WINDOW, FLAG)).not.toBeNull();
    expect(reader.prefetch(42, WINDOW, FLAG)).toBeNull();
    expect(reader.prefetch(43, WINDOW, FLAG)).not.toBeNull();
    await new Promise((r) => setImmediate(r));
    expect(userReads()).toBe(2);
  });

  it('a failed prefetch is read again, not an error', async () => {
    const { model, reads } = readModel(null);
    (model as unknown as { readForUser: () => Promise<never> }).readForUser = () => Promise.reject(new Error('connection lost'));
    const reader = new BusyCacheReader(model);

    const timeline = await reader.timeline([{ id: 1, cacheVersion: '7' }], WINDOW, 'UTC', reader.prefetch(42, WINDOW, FLAG));

    expect(reads).toEqual([[1]]);
    expect(Array.from(timeline)).toEqual([1, 6]);
  });
});
