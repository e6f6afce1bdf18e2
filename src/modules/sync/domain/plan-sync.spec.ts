import { type SyncPlanInput, planSync } from './plan-sync.js';

const windowEnd = new Date('2027-03-01T00:00:00.000Z');
const hoursBefore = (h: number) => new Date(windowEnd.getTime() - h * 3_600_000);
const base: SyncPlanInput = {
  requestedFull: false,
  cursor: 'cursor',
  cursorScope: 'calendar',
  cursorWindowEnd: windowEnd,
  writeCache: true,
  cacheEnabled: true,
  cacheCoveredUntil: windowEnd,
  windowEnd,
};

describe('planSync', () => {
  it.each<[string, Partial<SyncPlanInput>, boolean, string]>([
    ['a calendar with a fresh cursor and cache', {}, false, 'incremental'],
    ['an admin asking for a full resync', { requestedFull: true }, true, 'requested'],
    ['no cursor yet', { cursor: null }, true, 'no cursor'],
    ['the cache just turned on', { cacheEnabled: false }, true, 'cache turned on'],
    ['cache coverage a little behind the window', { cacheCoveredUntil: hoursBefore(23) }, false, 'incremental'],
    ['cache coverage more than a day behind', { cacheCoveredUntil: hoursBefore(25) }, true, 'cache coverage lapsed'],
    ['no recorded cache coverage', { cacheCoveredUntil: null }, true, 'cache coverage lapsed'],
    [
      'cache off: coverage does not matter',
      { writeCache: false, cacheEnabled: false, cacheCoveredUntil: null },
      false,
      'incremental',
    ],
    ['a calendar-wide cursor whose window slid', { writeCache: false, cursorWindowEnd: hoursBefore(48) }, false, 'incremental'],
    ['a window-bound cursor made for today’s window', { writeCache: false, cursorScope: 'window' }, false, 'incremental'],
    [
      'a window-bound cursor a little behind',
      { writeCache: false, cursorScope: 'window', cursorWindowEnd: hoursBefore(23) },
      false,
      'incremental',
    ],
    [
      'a window-bound cursor more than a day behind',
      { writeCache: false, cursorScope: 'window', cursorWindowEnd: hoursBefore(25) },
      true,
      'cursor window slid',
    ],
    [
      'a window-bound cursor of unknown window',
      { writeCache: false, cursorScope: 'window', cursorWindowEnd: null },
      true,
      'cursor window slid',
    ],
  ])('%s', (_name, overrides, full, reason) => {
    expect(planSync({ ...base, ...overrides })).toEqual({ full, reason });
  });
});
