import type { CachedBusyTimelinesReadModel, UserTimelines } from '../sync/read-models/cached-busy-timelines.read-model.js';
import { BusyCacheReader } from './busy-cache.reader.js';

const WINDOW = { start: 0, end: 1000 };

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
      return forUser;
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
  it('takes the calendars the prefetch read at their current versions, and reads only the others', async () => {
    const { model, reads } = readModel(userRead('UTC', { 1: '7', 2: '3' }));
    const reader = new BusyCacheReader(model);
    const prefetched = reader.prefetch(42, WINDOW);

    const timeline = await reader.timeline(
      [
        { id: 1, cacheVersion: '7' },
        { id: 2, cacheVersion: '4' }, // changed after the prefetch read it
      ],
      { start: 0, end: 1000 },
      'UTC',
      prefetched,
    );

    expect(reads).toEqual([[2]]);
    expect(Array.from(timeline)).toEqual([2, 7, 100, 150]);
  });

  it('reads everything itself when the prefetch used another time zone', async () => {
    const { model, reads } = readModel(userRead('Europe/Berlin', { 1: '7' }));
    const reader = new BusyCacheReader(model);

    const timeline = await reader.timeline([{ id: 1, cacheVersion: '7' }], WINDOW, 'UTC', reader.prefetch(42, WINDOW));

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
      reader.prefetch(42, WINDOW),
    );

    expect(reads).toEqual([]);
    expect(Array.from(timeline)).toEqual([300, 320]);
  });

  it('prefetches for a user only when not served lately', async () => {
    const { model, userReads } = readModel(null);
    const reader = new BusyCacheReader(model);
    expect(reader.prefetch(42, WINDOW)).not.toBeNull();
    expect(reader.prefetch(42, WINDOW)).toBeNull();
    expect(reader.prefetch(43, WINDOW)).not.toBeNull();
    await new Promise((r) => setImmediate(r));
    expect(userReads()).toBe(2);
  });

  it('a failed prefetch is read again, not an error', async () => {
    const { model, reads } = readModel(null);
    (model as unknown as { readForUser: () => Promise<never> }).readForUser = () => Promise.reject(new Error('connection lost'));
    const reader = new BusyCacheReader(model);

    const timeline = await reader.timeline([{ id: 1, cacheVersion: '7' }], WINDOW, 'UTC', reader.prefetch(42, WINDOW));

    expect(reads).toEqual([[1]]);
    expect(Array.from(timeline)).toEqual([1, 6]);
  });
});
