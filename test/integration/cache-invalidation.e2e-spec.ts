import type pg from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { CACHE_FLAG, FeatureFlagService } from '../../src/modules/feature-flags/index.js';
import { SyncPreferencesService } from '../../src/modules/sync-preferences/index.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { createUser } from '../support/fixtures.js';
import { enableFlagForUser } from '../support/sync-helpers.js';

/** A promise and its resolver. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The short-lived caches of feature flags and sync preferences, and a write made while a read is
 * in flight: the read (real PostgreSQL, answered before the write) is held until after the write
 * invalidated the cache. Its answer must not be cached then, or this instance would hide the write
 * for the cache's lifetime (as two concurrent PUTs of different preferences once showed).
 */
describe('caches cleared while a read is in flight', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const newUser = () => createUser(t, 'cache');

  it('sync preferences: a read taken before a PUT does not hide the PUT once it lands', async () => {
    const userId = await newUser();
    const preferences = t.app.get(SyncPreferencesService);
    const read = deferred();
    const release = deferred();
    const held = {
      query: async (sql: string, params: unknown[]) => {
        const rows: unknown = await t.dataSource.manager.query(sql, params);
        read.resolve();
        await release.promise;
        return rows;
      },
    } as unknown as EntityManager;

    const before = preferences.explain(userId, held);
    await read.promise; // PostgreSQL has answered: the defaults.
    await t.api.put(`/api/v1/users/${userId}/sync-preferences`).send({ applyDetails: false }).expect(200);
    release.resolve();
    expect((await before).applyDetails).toEqual({ value: true, source: 'default' });

    const after = await t.api.get(`/api/v1/users/${userId}/sync-preferences`).expect(200);
    expect(after.body.applyDetails).toBe(false);
  });

  it('feature flags: a resolution read before a change does not hide the change on this instance', async () => {
    const userId = await newUser();
    const pool = (t.dataSource.driver as unknown as { master: pg.Pool }).master;
    const read = deferred();
    const release = deferred();
    // The service's reads go to this pool: PostgreSQL answers at once, the answer is held.
    const held = {
      query: async (config: pg.QueryConfig) => {
        const result = await pool.query(config);
        read.resolve();
        await release.promise;
        return result;
      },
    };
    const flags = new FeatureFlagService({
      queryRunner: undefined,
      connection: { driver: { master: held } },
    } as unknown as DataSource);

    const before = flags.resolve(CACHE_FLAG, userId);
    await read.promise;
    await enableFlagForUser(t, CACHE_FLAG, userId);
    flags.invalidate(); // what the admin API does after its change
    release.resolve();
    expect((await before).enabled).toBe(false);
    expect(await flags.resolve(CACHE_FLAG, userId)).toEqual({ enabled: true, reason: 'user' });

    // The same for inputs a caller read in its own statement: kept only if nothing changed since its mark.
    const mark = flags.readMark;
    await enableFlagForUser(t, CACHE_FLAG, userId, false);
    flags.invalidate();
    expect(flags.resolveRead(CACHE_FLAG, userId, { userFlag: true, teamFlags: null, globalFlag: null }, mark).enabled).toBe(true);
    expect(await flags.resolve(CACHE_FLAG, userId)).toEqual({ enabled: false, reason: 'user' });
  });
});
