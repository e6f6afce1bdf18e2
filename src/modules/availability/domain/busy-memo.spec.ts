import { BusyMemo } from './busy-memo.js';

describe('BusyMemo', () => {
  const key = (version: number, from = 0) => BusyMemo.key({ calendars: [{ id: 1, version }], from, to: 100, timeZone: 'UTC' });

  it('misses once a calendar has synced again (its version moved)', () => {
    const memo = new BusyMemo();
    memo.set(key(1), [{ start: 1, end: 2 }]);
    expect(memo.get(key(1))).toEqual([{ start: 1, end: 2 }]);
    expect(memo.get(key(2))).toBeUndefined();
  });

  it('evicts the least recently used entry past its capacity', () => {
    const memo = new BusyMemo(2);
    memo.set(key(1, 1), []);
    memo.set(key(1, 2), []);
    memo.get(key(1, 1));
    memo.set(key(1, 3), []);
    expect(memo.get(key(1, 2))).toBeUndefined();
    expect(memo.get(key(1, 1))).toEqual([]);
    expect(memo.get(key(1, 3))).toEqual([]);
  });
});
