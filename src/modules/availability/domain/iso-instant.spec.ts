import { isoInstant } from './iso-instant.js';

describe('isoInstant', () => {
  it('formats exactly like Date#toISOString', () => {
    const samples = [
      0,
      1,
      999,
      86_399_999,
      86_400_000,
      Date.UTC(2026, 11, 1, 10, 0, 0, 0),
      Date.UTC(2028, 1, 29, 23, 59, 59, 999),
      -1,
      -86_400_001,
    ];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Date.UTC(2020, 0, 1) + Math.random() * 10 * 365 * 86_400_000));
    for (const ms of samples) expect(isoInstant(ms)).toBe(new Date(ms).toISOString());
  });
});
