import { SYNC_BACKOFF_MAX_MS, syncBackoffUntil } from './sync-backoff.js';

const now = Date.parse('2026-12-01T12:00:00.000Z');
const ago = (ms: number) => new Date(now - ms);

describe('syncBackoffUntil', () => {
  it.each<[string, number, Date | null, number | null]>([
    ['never failed', 0, null, null],
    ['a failure count without a time', 1, null, null],
    ['first failure, 1 s ago: wait 5 s from it', 1, ago(1_000), now + 4_000],
    ['first failure, 6 s ago: free', 1, ago(6_000), null],
    ['third failure, 10 s ago: wait 20 s from it', 3, ago(10_000), now + 10_000],
    ['tenth failure, 1 min ago: capped at 15 min', 10, ago(60_000), now - 60_000 + SYNC_BACKOFF_MAX_MS],
    ['hundredth failure, 16 min ago: free', 100, ago(16 * 60_000), null],
  ])('%s', (_name, failures, at, expected) => {
    expect(syncBackoffUntil(failures, at, now)).toBe(expected);
  });
});
