import { jest } from '@jest/globals';
import type { QueryBus } from '@nestjs/cqrs';
import type { DataSource, EntityManager } from 'typeorm';
import { MAX_CACHED_USERS, SyncPreferencesService } from './sync-preferences.service.js';

// The cache alone: the resolution query's rows come from a stand-in (the routes and the sync's use of
// it run against PostgreSQL in test/e2e/sync-preferences.e2e-spec.ts).
describe('SyncPreferencesService cache', () => {
  it('answers a user again within 2 s from memory, and drops expired users once many are cached', async () => {
    let reads = 0;
    const manager = {
      query: async () => {
        reads += 1;
        return [{ user: null, teams: null }];
      },
    } as unknown as EntityManager;
    const service = new SyncPreferencesService({ manager } as unknown as DataSource, {} as QueryBus);
    const cache = (service as unknown as { cache: Map<number, unknown> }).cache;
    let now = 1_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      expect(await service.forUser(1)).toMatchObject({ applyReschedules: true, conflictPolicy: 'accept' });
      await service.forUser(1);
      expect(reads).toBe(1);

      for (let userId = 2; userId <= MAX_CACHED_USERS; userId++) await service.forUser(userId);
      expect(cache.size).toBe(MAX_CACHED_USERS);
      // Later, the first of a new stream of users finds them all expired: they go, it stays.
      now += 2_000;
      await service.forUser(MAX_CACHED_USERS + 1);
      expect(cache.size).toBe(1);
      // Fresh entries are kept however many there are.
      for (let userId = MAX_CACHED_USERS + 2; userId <= 2 * MAX_CACHED_USERS + 1; userId++) await service.forUser(userId);
      expect(cache.size).toBe(MAX_CACHED_USERS + 1);
      // The next sweep comes once those have expired too.
      now += 2_000;
      await service.forUser(3 * MAX_CACHED_USERS);
      expect(cache.size).toBe(1);
    } finally {
      clock.mockRestore();
    }
  });
});
