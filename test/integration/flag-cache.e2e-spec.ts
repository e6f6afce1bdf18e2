import { jest } from '@jest/globals';
import { CACHE_FLAG, FeatureFlagService } from '../../src/modules/feature-flags/index.js';
import { MAX_CACHED_FLAG_RESOLUTIONS } from '../../src/modules/feature-flags/feature-flag.service.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';

/** The flag cache's bound, against PostgreSQL: a stream of distinct users does not grow it for good. */
describe('FeatureFlagService cache', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('drops expired users once many are cached, at most once per 2 s', async () => {
    const flags = t.app.get(FeatureFlagService);
    const cache = (flags as unknown as { cache: Map<string, unknown> }).cache;
    const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
    let now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      cache.clear();
      const first = await flags.resolveMany(CACHE_FLAG, ids(1_000_000, MAX_CACHED_FLAG_RESOLUTIONS + 1));
      expect(first.size).toBe(MAX_CACHED_FLAG_RESOLUTIONS + 1);
      expect(cache.size).toBe(MAX_CACHED_FLAG_RESOLUTIONS + 1);
      // Still fresh: a miss does not scan them (nothing to drop), and they stay.
      await flags.resolveMany(CACHE_FLAG, [2_000_000]);
      expect(cache.size).toBe(MAX_CACHED_FLAG_RESOLUTIONS + 2);
      // Expired, the next miss drops them and keeps what it read.
      now += 2_000;
      await flags.resolveMany(CACHE_FLAG, [3_000_000]);
      expect(cache.size).toBe(1);
    } finally {
      clock.mockRestore();
    }
  });
});
