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

describe('syncBackoffUntil with the provider’s Retry-After', () => {
  it.each<[string, number, Date | null, Date | null, number | null]>([
    ['first failure 1 s ago, Retry-After 2 min: wait for it', 1, ago(1_000), new Date(now + 119_000), now + 119_000],
    ['first failure 1 s ago, Retry-After 1 s: the backoff is longer', 1, ago(1_000), new Date(now), now + 4_000],
    ['its time has passed: free', 1, ago(6 * 60_000), new Date(now - 1_000), null],
    ['no failure: nothing to wait for', 0, null, new Date(now + 60_000), null],
  ])('%s', (_name, failures, at, notBefore, expected) => {
    expect(syncBackoffUntil(failures, at, now, notBefore)).toBe(expected);
  });
});
