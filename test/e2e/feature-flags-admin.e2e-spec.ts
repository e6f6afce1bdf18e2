import { Controller, type DynamicModule, Get, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { CqrsModule, EventBus } from '@nestjs/cqrs';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Subscription } from 'rxjs';
import request from 'supertest';
import { configureApp } from '../../src/bootstrap/configure-app.js';
import { ApiKeyGuard } from '../../src/common/auth/api-key.guard.js';
import { APP_CONFIG, type AppConfig } from '../../src/config/app-config.js';
import { DatabaseModule } from '../../src/infrastructure/database/database.module.js';
import { AccountsModule } from '../../src/modules/accounts/accounts.module.js';
import { FeatureFlagChanged } from '../../src/modules/feature-flags/events/feature-flag-changed.event.js';
import { FeatureFlagService } from '../../src/modules/feature-flags/feature-flag.service.js';
import { FeatureFlagsModule } from '../../src/modules/feature-flags/feature-flags.module.js';
import { RequireFeature } from '../../src/modules/feature-flags/require-feature.decorator.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';

const FEATURE_KEYS = ['createdAt', 'description', 'enabled', 'lastUsedAt', 'slug', 'stale', 'type', 'updatedAt', 'updatedBy'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('Feature flag admin API', () => {
  let t: TestApp;
  let counter = 0;

  const newUser = async (): Promise<number> => {
    counter += 1;
    const res = await t.api
      .post('/api/v1/users')
      .send({ email: `ff${counter}.${process.pid}@example.com`, timeZone: 'UTC' })
      .expect(201);
    return res.body.id;
  };
  const newTeam = async (parentId?: number): Promise<number> => {
    counter += 1;
    const res = await t.api
      .post('/api/v1/teams')
      .send({ name: `Team ${counter}`, ...(parentId ? { parentId } : {}) })
      .expect(201);
    return res.body.id;
  };
  const join = async (teamId: number, userId: number) => {
    await t.api.put(`/api/v1/teams/${teamId}/members/${userId}`).expect(204);
  };
  const newFlag = async (enabled = false): Promise<string> => {
    counter += 1;
    const slug = `flag-${counter}`;
    await t.admin.post('/api/v1/admin/features').send({ slug, enabled }).expect(201);
    return slug;
  };
  const setUser = (slug: string, userId: number, enabled: boolean) =>
    t.admin.put(`/api/v1/admin/features/${slug}/users/${userId}`).send({ enabled }).expect(200);
  const setTeam = (slug: string, teamId: number, enabled: boolean) =>
    t.admin.put(`/api/v1/admin/features/${slug}/teams/${teamId}`).send({ enabled }).expect(200);
  const explain = async (slug: string, userId: number) =>
    (await t.admin.get(`/api/v1/admin/features/${slug}/users/${userId}`).expect(200)).body as {
      enabled: boolean;
      reason: string;
    };
  /** Every row of the three flag tables, to show a refused request changed nothing. */
  const snapshot = () =>
    t.dataSource.query(`
      SELECT (SELECT coalesce(json_agg(f ORDER BY f."slug"), '[]') FROM "Feature" f) AS features,
             (SELECT coalesce(json_agg(u ORDER BY u."featureId", u."userId"), '[]') FROM "UserFeatures" u) AS users,
             (SELECT coalesce(json_agg(tf ORDER BY tf."featureId", tf."teamId"), '[]') FROM "TeamFeatures" tf) AS teams`);

  beforeAll(async () => {
    t = await createTestApp();
    // The ids the seed document uses, taken before any generated id can reach them.
    await t.api.post('/api/v1/users').send({ id: 123, email: 'seed-user@example.com', timeZone: 'UTC' }).expect(201);
    await t.api.post('/api/v1/teams').send({ id: 456, name: 'Seed team' }).expect(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('auth', () => {
    const routes: Array<[method: 'get' | 'post' | 'patch' | 'put' | 'delete', path: string]> = [
      ['get', '/api/v1/admin/features'],
      ['post', '/api/v1/admin/features'],
      ['get', '/api/v1/admin/features/calendar-subscription-cache'],
      ['patch', '/api/v1/admin/features/calendar-subscription-cache'],
      ['get', '/api/v1/admin/features/calendar-subscription-cache/users/123'],
      ['put', '/api/v1/admin/features/calendar-subscription-cache/users/123'],
      ['delete', '/api/v1/admin/features/calendar-subscription-cache/users/123'],
      ['put', '/api/v1/admin/features/calendar-subscription-cache/teams/456'],
      ['delete', '/api/v1/admin/features/calendar-subscription-cache/teams/456'],
    ];

    it.each(routes)('%s %s needs the admin key', async (method, path) => {
      const before = await snapshot();
      const none = await t.http[method](path).send({ enabled: true, slug: 'auth-probe' }).expect(401);
      expect(none.body.detail).toMatch(/Missing bearer token/);
      const app = await t.api[method](path).send({ enabled: true, slug: 'auth-probe' }).expect(401);
      expect(app.body.detail).toBe('Invalid admin API key');
      expect(await snapshot()).toEqual(before);
    });

    it('the admin key opens the admin routes and nothing else', async () => {
      await t.admin.get('/api/v1/admin/features').expect(200);
      const bookings = await t.admin.get('/api/v1/bookings').expect(401);
      expect(bookings.body.detail).toBe('Invalid API key');
    });
  });

  describe('flags', () => {
    it('lists the migrated flags with every field', async () => {
      const res = await t.admin.get('/api/v1/admin/features').expect(200);
      expect(res.body.nextCursor).toBeNull();
      const cache = res.body.items.find((f: { slug: string }) => f.slug === 'calendar-subscription-cache');
      expect(Object.keys(cache).sort()).toEqual(FEATURE_KEYS);
      expect(cache).toMatchObject({
        enabled: false,
        description: 'Allow calendar cache to be recorded and used through calendars.',
        type: 'OPERATIONAL',
        stale: false,
        lastUsedAt: null,
        updatedBy: null,
      });
      expect(cache.createdAt).toMatch(ISO);
      expect(res.body.items.map((f: { slug: string }) => f.slug)).toEqual(
        expect.arrayContaining(['calendar-subscription-cache', 'calendar-subscription-sync']),
      );
      const slugs = res.body.items.map((f: { slug: string }) => f.slug);
      expect(slugs).toEqual([...slugs].sort());
    });

    it('creates a flag with defaults, and refuses a duplicate slug', async () => {
      const created = await t.admin.post('/api/v1/admin/features').send({ slug: 'new-booking-page', enabled: true }).expect(201);
      expect(Object.keys(created.body).sort()).toEqual(FEATURE_KEYS);
      expect(created.body).toMatchObject({
        slug: 'new-booking-page',
        enabled: true,
        description: null,
        type: 'RELEASE',
        stale: false,
        lastUsedAt: null,
        updatedBy: 'admin-api',
      });
      expect(created.body.createdAt).toMatch(ISO);
      expect(created.body.updatedAt).toMatch(ISO);

      const full = await t.admin
        .post('/api/v1/admin/features')
        .send({ slug: 'kill-outlook-2', enabled: false, description: 'Stops Outlook writes', type: 'KILL_SWITCH' })
        .expect(201);
      expect(full.body).toMatchObject({ description: 'Stops Outlook writes', type: 'KILL_SWITCH', enabled: false });
      await t.admin
        .post('/api/v1/admin/features')
        .send({ slug: 'a'.repeat(64), enabled: false })
        .expect(201);

      const got = await t.admin.get('/api/v1/admin/features/new-booking-page').expect(200);
      expect(got.body).toEqual(created.body);
      const listed = await t.admin.get('/api/v1/admin/features').expect(200);
      expect(listed.body.items).toContainEqual(created.body);

      const before = await snapshot();
      const duplicate = await t.admin
        .post('/api/v1/admin/features')
        .send({ slug: 'new-booking-page', enabled: false })
        .expect(409);
      expect(duplicate.body.detail).toBe('Feature "new-booking-page" already exists');
      await t.admin.post('/api/v1/admin/features').send({ slug: 'calendar-subscription-sync', enabled: true }).expect(409);
      expect(await snapshot()).toEqual(before);
    });

    it('PATCH sets the global switch and answers the flag', async () => {
      const slug = await newFlag(false);
      const res = await t.admin.patch(`/api/v1/admin/features/${slug}`).send({ enabled: true }).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(FEATURE_KEYS);
      expect(res.body).toMatchObject({ slug, enabled: true, updatedBy: 'admin-api' });
      expect((await t.admin.get(`/api/v1/admin/features/${slug}`).expect(200)).body.enabled).toBe(true);
    });
  });

  describe('bad input', () => {
    it('is refused with a readable message and changes nothing', async () => {
      const slug = await newFlag(false);
      const userId = await newUser();
      const teamId = await newTeam();
      const before = await snapshot();
      /** Every 400 is problem+json; validation failures also list each field's problem. One string to search. */
      const messages = async (req: request.Test): Promise<string> => {
        const { detail, errors } = (await req.expect(400)).body as { detail: string; errors?: Array<{ message: string }> };
        return [detail, ...(errors ?? []).map((e) => e.message)].join('\n');
      };
      const create = (body: object) => t.admin.post('/api/v1/admin/features').send(body);

      for (const bad of ['Bad-Slug', 'bad_slug', '-bad', 'bad-', 'bad--slug', 'bad slug', '', 'ünicode']) {
        expect(await messages(create({ slug: bad, enabled: true }))).toContain(
          'slug must be lowercase letters and digits in words joined by single hyphens',
        );
      }
      expect(await messages(create({ slug: 'a'.repeat(65), enabled: true }))).toContain('slug must be at most 64 characters');
      expect(await messages(create({ slug: 42, enabled: true }))).toContain('slug must be a string');
      expect(await messages(create({ enabled: true }))).toContain('slug is required');
      expect(await messages(create({ slug: 'good-slug', enabled: true, type: 'NIGHTLY' }))).toContain(
        'type must be one of: RELEASE, EXPERIMENT, OPERATIONAL, KILL_SWITCH, PERMISSION',
      );
      expect(await messages(create({ slug: 'good-slug', enabled: true, colour: 'red' }))).toContain(
        'property colour is not allowed',
      );
      expect(await messages(create({ slug: 'good-slug', enabled: 'yes' }))).toContain('enabled must be a boolean value');
      expect(await messages(create({ slug: 'good-slug' }))).toContain('enabled is required');
      expect(await messages(create({ slug: 'good-slug', enabled: true, description: 7 }))).toContain(
        'description must be a string',
      );
      expect(await messages(create({ slug: 'good-slug', enabled: true }).set('X-Actor', 'x'.repeat(101)))).toContain(
        'X-Actor must be at most 100 printable characters',
      );

      const patch = (body: object) => t.admin.patch(`/api/v1/admin/features/${slug}`).send(body);
      expect(await messages(patch({ enabled: 'true' }))).toContain('enabled must be a boolean value');
      expect(await messages(patch({}))).toContain('enabled is required');
      expect(await messages(patch({ enabled: true, description: 'x' }))).toContain('property description is not allowed');

      for (const path of [`users/${userId}`, `teams/${teamId}`]) {
        const put = (body: object) => t.admin.put(`/api/v1/admin/features/${slug}/${path}`).send(body);
        expect(await messages(put({ enabled: 1 }))).toContain('enabled must be a boolean value');
        expect(await messages(put({ enabled: null }))).toContain('enabled is required');
        expect(await messages(put({ enabled: true, userId }))).toContain('property userId is not allowed');
      }
      // The id is quoted after the global pipe's number conversion ("NaN" for "abc"): a house-wide quirk of IdParamPipe.
      expect(await messages(t.admin.put(`/api/v1/admin/features/${slug}/users/abc`))).toContain('"abc" is not a valid id');
      expect(await messages(t.admin.put(`/api/v1/admin/features/${slug}/teams/0`))).toContain('"0" is not a valid id');
      expect(await messages(t.admin.get(`/api/v1/admin/features/${slug}/users/1.5`))).toContain('"1.5" is not a valid id');
      const invalidJson = await t.admin
        .patch(`/api/v1/admin/features/${slug}`)
        .set('Content-Type', 'application/json')
        .send('{"enabled":')
        .expect(400);
      expect(invalidJson.body.detail).toMatch(/JSON/);

      expect(await snapshot()).toEqual(before);
    });

    it('unknown flags, users, teams and assignments are 404s that change nothing', async () => {
      const slug = await newFlag(false);
      const userId = await newUser();
      const teamId = await newTeam();
      const before = await snapshot();
      const message = async (req: request.Test) => (await req.expect(404)).body.detail;

      expect(await message(t.admin.get('/api/v1/admin/features/no-such-flag'))).toBe('Feature "no-such-flag" not found');
      expect(await message(t.admin.patch('/api/v1/admin/features/no-such-flag').send({ enabled: true }))).toBe(
        'Feature "no-such-flag" not found',
      );
      expect(await message(t.admin.put(`/api/v1/admin/features/no-such-flag/users/${userId}`))).toBe(
        'Feature "no-such-flag" not found',
      );
      expect(await message(t.admin.put(`/api/v1/admin/features/no-such-flag/teams/${teamId}`))).toBe(
        'Feature "no-such-flag" not found',
      );
      expect(await message(t.admin.get(`/api/v1/admin/features/no-such-flag/users/${userId}`))).toBe(
        'Feature "no-such-flag" not found',
      );
      expect(await message(t.admin.put(`/api/v1/admin/features/${slug}/users/999999`).send({ enabled: true }))).toBe(
        'User 999999 not found',
      );
      expect(await message(t.admin.put(`/api/v1/admin/features/${slug}/teams/999999`))).toBe('Team 999999 not found');
      expect(await message(t.admin.get(`/api/v1/admin/features/${slug}/users/999999`))).toBe('User 999999 not found');
      expect(await message(t.admin.delete(`/api/v1/admin/features/no-such-flag/users/${userId}`))).toBe(
        'Feature "no-such-flag" not found',
      );
      expect(await message(t.admin.delete(`/api/v1/admin/features/${slug}/users/999999`))).toBe('User 999999 not found');
      expect(await message(t.admin.delete(`/api/v1/admin/features/${slug}/teams/999999`))).toBe('Team 999999 not found');
      expect(await message(t.admin.delete(`/api/v1/admin/features/${slug}/users/${userId}`))).toBe(
        `User ${userId} has no assignment of feature "${slug}"`,
      );
      expect(await message(t.admin.delete(`/api/v1/admin/features/${slug}/teams/${teamId}`))).toBe(
        `Team ${teamId} has no assignment of feature "${slug}"`,
      );
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('assignments', () => {
    it('PUT assigns (on by default, empty body allowed), DELETE removes', async () => {
      const slug = await newFlag(false);
      const userId = await newUser();
      const teamId = await newTeam();

      const user = await t.admin.put(`/api/v1/admin/features/${slug}/users/${userId}`).expect(200);
      expect(Object.keys(user.body).sort()).toEqual(['assignedAt', 'assignedBy', 'enabled', 'featureId', 'updatedAt', 'userId']);
      expect(user.body).toMatchObject({ featureId: slug, userId, enabled: true, assignedBy: 'admin-api' });
      expect(user.body.assignedAt).toMatch(ISO);
      expect(user.body.updatedAt).toMatch(ISO);

      const team = await t.admin
        .put(`/api/v1/admin/features/${slug}/teams/${teamId}`)
        .set('Content-Type', 'application/json')
        .send('')
        .expect(200);
      expect(Object.keys(team.body).sort()).toEqual(['assignedAt', 'assignedBy', 'enabled', 'featureId', 'teamId', 'updatedAt']);
      expect(team.body).toMatchObject({ featureId: slug, teamId, enabled: true, assignedBy: 'admin-api' });
      const off = await setTeam(slug, teamId, false);
      expect(off.body.enabled).toBe(false);

      const rows = await t.dataSource.query(
        `SELECT (SELECT "enabled" FROM "UserFeatures" WHERE "featureId" = $1 AND "userId" = $2) AS "user",
                (SELECT "enabled" FROM "TeamFeatures" WHERE "featureId" = $1 AND "teamId" = $3) AS "team"`,
        [slug, userId, teamId],
      );
      expect(rows[0]).toEqual({ user: true, team: false });

      await t.admin.delete(`/api/v1/admin/features/${slug}/users/${userId}`).expect(204, '');
      await t.admin.delete(`/api/v1/admin/features/${slug}/teams/${teamId}`).expect(204, '');
      await t.admin.delete(`/api/v1/admin/features/${slug}/users/${userId}`).expect(404);
      const left = await t.dataSource.query(
        `SELECT (SELECT count(*) FROM "UserFeatures" WHERE "featureId" = $1)::int + (SELECT count(*) FROM "TeamFeatures" WHERE "featureId" = $1)::int AS n`,
        [slug],
      );
      expect(left[0].n).toBe(0);
    });

    it('the same PUT or PATCH sent many times at once: every answer is 200 with the state that was written', async () => {
      for (let round = 0; round < 5; round++) {
        const slug = await newFlag(false);
        const userId = await newUser();
        const teamId = await newTeam();
        const users = await Promise.all(
          Array.from({ length: 12 }, () => t.admin.put(`/api/v1/admin/features/${slug}/users/${userId}`).send({ enabled: true })),
        );
        const teams = await Promise.all(
          Array.from({ length: 12 }, () =>
            t.admin.put(`/api/v1/admin/features/${slug}/teams/${teamId}`).send({ enabled: false }),
          ),
        );
        const patches = await Promise.all(
          Array.from({ length: 12 }, () => t.admin.patch(`/api/v1/admin/features/${slug}`).send({ enabled: true })),
        );
        expect(users.map((r) => [r.status, r.body.enabled, r.body.userId])).toEqual(users.map(() => [200, true, userId]));
        expect(teams.map((r) => [r.status, r.body.enabled, r.body.teamId])).toEqual(teams.map(() => [200, false, teamId]));
        expect(patches.map((r) => [r.status, r.body.enabled])).toEqual(patches.map(() => [200, true]));
        const rows = await t.dataSource.query(
          `SELECT (SELECT count(*) FROM "UserFeatures" WHERE "featureId" = $1)::int AS users,
                  (SELECT count(*) FROM "TeamFeatures" WHERE "featureId" = $1)::int AS teams`,
          [slug],
        );
        expect(rows[0]).toEqual({ users: 1, teams: 1 });
      }
    });

    it('records who changed what: X-Actor, else "admin-api"; assignedAt stays, updatedAt moves', async () => {
      const created = await t.admin
        .post('/api/v1/admin/features')
        .set('X-Actor', 'alice')
        .send({ slug: 'audited-flag', enabled: false })
        .expect(201);
      expect(created.body.updatedBy).toBe('alice');
      const patched = await t.admin
        .patch('/api/v1/admin/features/audited-flag')
        .set('X-Actor', '  bob@example.com  ')
        .send({ enabled: true })
        .expect(200);
      expect(patched.body.updatedBy).toBe('bob@example.com');
      expect(Date.parse(patched.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.body.updatedAt));
      expect(patched.body.createdAt).toBe(created.body.createdAt);
      const byDefault = await t.admin.patch('/api/v1/admin/features/audited-flag').send({ enabled: false }).expect(200);
      expect(byDefault.body.updatedBy).toBe('admin-api');
      const blank = await t.admin
        .patch('/api/v1/admin/features/audited-flag')
        .set('X-Actor', '   ')
        .send({ enabled: true })
        .expect(200);
      expect(blank.body.updatedBy).toBe('admin-api');

      // Setting the value a flag already has is not a change: the audit columns keep the last real one.
      const same = await t.admin
        .patch('/api/v1/admin/features/audited-flag')
        .set('X-Actor', 'mallory')
        .send({ enabled: true })
        .expect(200);
      expect(same.body).toEqual(blank.body);

      const userId = await newUser();
      const first = await t.admin
        .put(`/api/v1/admin/features/audited-flag/users/${userId}`)
        .set('X-Actor', 'alice')
        .send({ enabled: true })
        .expect(200);
      expect(first.body.assignedBy).toBe('alice');
      const again = await t.admin
        .put(`/api/v1/admin/features/audited-flag/users/${userId}`)
        .set('X-Actor', 'mallory')
        .expect(200);
      expect(again.body).toEqual(first.body);
      const second = await t.admin
        .put(`/api/v1/admin/features/audited-flag/users/${userId}`)
        .set('X-Actor', 'bob')
        .send({ enabled: false })
        .expect(200);
      expect(second.body).toMatchObject({ enabled: false, assignedBy: 'bob', assignedAt: first.body.assignedAt });
      expect(Date.parse(second.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(first.body.updatedAt));
      const stored = await t.dataSource.query(
        `SELECT "updatedAt" > "assignedAt" AS moved FROM "UserFeatures" WHERE "featureId" = 'audited-flag' AND "userId" = $1`,
        [userId],
      );
      expect(stored[0].moved).toBe(true);

      const teamId = await newTeam();
      const team = await t.admin.put(`/api/v1/admin/features/audited-flag/teams/${teamId}`).expect(200);
      expect(team.body.assignedBy).toBe('admin-api');
      const teamByCarol = await t.admin
        .put(`/api/v1/admin/features/audited-flag/teams/${teamId}`)
        .set('X-Actor', 'Carol (ops)')
        .send({ enabled: false })
        .expect(200);
      expect(teamByCarol.body).toMatchObject({ assignedBy: 'Carol (ops)', assignedAt: team.body.assignedAt });
    });

    it('publishes FeatureFlagChanged for every change, and nothing for a no-op', async () => {
      const events: FeatureFlagChanged[] = [];
      const subscription: Subscription = t.app.get(EventBus).subscribe((event) => {
        if (event instanceof FeatureFlagChanged) events.push(event);
      });
      try {
        const userId = await newUser();
        const teamId = await newTeam();
        await t.admin.post('/api/v1/admin/features').send({ slug: 'evented-flag', enabled: false }).expect(201);
        await t.admin.patch('/api/v1/admin/features/evented-flag').send({ enabled: true }).expect(200);
        await t.admin.patch('/api/v1/admin/features/evented-flag').send({ enabled: true }).expect(200);
        await setUser('evented-flag', userId, false);
        await setUser('evented-flag', userId, false);
        await setTeam('evented-flag', teamId, true);
        await t.admin.delete(`/api/v1/admin/features/evented-flag/users/${userId}`).expect(204);
        await t.admin.delete(`/api/v1/admin/features/evented-flag/teams/${teamId}`).expect(204);
        await t.admin.delete(`/api/v1/admin/features/evented-flag/teams/${teamId}`).expect(404);
        expect(events.map((e) => ({ ...e }))).toEqual([
          { slug: 'evented-flag', scope: 'global', targetId: undefined },
          { slug: 'evented-flag', scope: 'global', targetId: undefined },
          { slug: 'evented-flag', scope: 'user', targetId: userId },
          { slug: 'evented-flag', scope: 'team', targetId: teamId },
          { slug: 'evented-flag', scope: 'user', targetId: userId },
          { slug: 'evented-flag', scope: 'team', targetId: teamId },
        ]);
      } finally {
        subscription.unsubscribe();
      }
    });
  });

  describe('resolution', () => {
    type Level = 'on' | 'off' | 'none';
    const levels: Level[] = ['on', 'off', 'none'];
    const expected = (user: Level, team: Level, global: boolean) =>
      user !== 'none'
        ? { enabled: user === 'on', reason: 'user' }
        : team !== 'none'
          ? { enabled: team === 'on', reason: 'team' }
          : { enabled: global, reason: 'global' };

    it('user over team over global, for every combination', async () => {
      const cases: Array<{ user: Level; team: Level; global: boolean; userId: number }> = [];
      for (const global of [true, false]) {
        const slug = `table-${global ? 'on' : 'off'}`;
        await t.admin.post('/api/v1/admin/features').send({ slug, enabled: global }).expect(201);
        for (const user of levels) {
          for (const team of levels) {
            const userId = await newUser();
            if (user !== 'none') await setUser(slug, userId, user === 'on');
            if (team !== 'none') {
              const teamId = await newTeam();
              await join(teamId, userId);
              await setTeam(slug, teamId, team === 'on');
            }
            cases.push({ user, team, global, userId });
          }
        }
      }
      const actual = [];
      for (const c of cases) {
        const slug = `table-${c.global ? 'on' : 'off'}`;
        actual.push({ user: c.user, team: c.team, global: c.global, ...(await explain(slug, c.userId)) });
      }
      expect(actual).toEqual(
        cases.map((c) => ({ user: c.user, team: c.team, global: c.global, ...expected(c.user, c.team, c.global) })),
      );
    });

    it('a parent (or grandparent) team’s assignment reaches the members of its child teams', async () => {
      const slug = await newFlag(false);
      const org = await newTeam();
      const division = await newTeam(org);
      const squad = await newTeam(division);
      const member = await newUser();
      await join(squad, member);
      const outsider = await newUser();

      expect(await explain(slug, member)).toEqual({ enabled: false, reason: 'global' });
      await setTeam(slug, org, true);
      expect(await explain(slug, member)).toEqual({ enabled: true, reason: 'team' });
      expect(await explain(slug, outsider)).toEqual({ enabled: false, reason: 'global' });

      // Any team on the way up that enables it is enough, whichever level says "off".
      await setTeam(slug, squad, false);
      expect(await explain(slug, member)).toEqual({ enabled: true, reason: 'team' });
      await setTeam(slug, org, false);
      expect(await explain(slug, member)).toEqual({ enabled: false, reason: 'team' });
      await setTeam(slug, division, true);
      expect(await explain(slug, member)).toEqual({ enabled: true, reason: 'team' });

      // The user's own assignment beats all of them.
      await setUser(slug, member, false);
      expect(await explain(slug, member)).toEqual({ enabled: false, reason: 'user' });
    });

    it('with two teams, one that enables the flag is enough', async () => {
      const slug = await newFlag(true);
      const a = await newTeam();
      const b = await newTeam();
      const userId = await newUser();
      await join(a, userId);
      await join(b, userId);
      await setTeam(slug, a, false);
      expect(await explain(slug, userId)).toEqual({ enabled: false, reason: 'team' });
      await setTeam(slug, b, true);
      expect(await explain(slug, userId)).toEqual({ enabled: true, reason: 'team' });
      await setTeam(slug, b, false);
      expect(await explain(slug, userId)).toEqual({ enabled: false, reason: 'team' });
    });

    it('rows written by the seed document’s SQL resolve and are managed like rows from the API', async () => {
      // Verbatim from the seed document (users 123 and team 456 were created in beforeAll).
      await t.dataSource.query(`
INSERT INTO "Feature" ("slug", "enabled", "description", "type", "stale", "lastUsedAt", "createdAt", "updatedAt", "updatedBy") 
VALUES ('calendar-subscription-cache', false, 'Allow calendar cache to be recorded and used through calendars.', 'OPERATIONAL', false, NULL, NOW(), NOW(), NULL) 
ON CONFLICT (slug) DO NOTHING;`);
      await t.dataSource.query(`
INSERT INTO "UserFeatures" ("userId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (123, 'calendar-subscription-cache', NOW(), 'admin', NOW()) 
ON CONFLICT ("userId", "featureId") DO NOTHING;`);
      await t.dataSource.query(`
INSERT INTO "TeamFeatures" ("teamId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (456, 'calendar-subscription-sync', NOW(), 'admin', NOW()) 
ON CONFLICT ("teamId", "featureId") DO NOTHING;`);
      // The same shape for a flag of our own, so the whole table can be checked without the
      // migrated flags' rows getting in the way of other tests.
      await t.dataSource.query(`
INSERT INTO "Feature" ("slug", "enabled", "description", "type", "stale", "lastUsedAt", "createdAt", "updatedAt", "updatedBy") 
VALUES ('seeded-flag', false, 'Written by SQL', 'OPERATIONAL', false, NULL, NOW(), NOW(), NULL) 
ON CONFLICT (slug) DO NOTHING;`);
      const cases: Array<{ user: Level; team: Level; userId: number; label: string }> = [];
      for (const user of levels) {
        for (const team of levels) {
          const userId = await newUser();
          // Seed style: an assignment row without "enabled" means on; off is the same row with false.
          if (user !== 'none') {
            await t.dataSource.query(
              `INSERT INTO "UserFeatures" ("userId", "featureId", "assignedAt", "assignedBy", "updatedAt")
               VALUES ($1, 'seeded-flag', NOW(), 'admin', NOW()) ON CONFLICT ("userId", "featureId") DO NOTHING`,
              [userId],
            );
            if (user === 'off')
              await t.dataSource.query(`UPDATE "UserFeatures" SET "enabled" = false WHERE "userId" = $1`, [userId]);
          }
          if (team !== 'none') {
            const parent = await newTeam();
            const teamId = await newTeam(parent);
            await join(teamId, userId);
            // Half the team cases go through the parent team, to cover inheritance too.
            const assigned = cases.length % 2 === 0 ? teamId : parent;
            await t.dataSource.query(
              `INSERT INTO "TeamFeatures" ("teamId", "featureId", "assignedAt", "assignedBy", "updatedAt")
               VALUES ($1, 'seeded-flag', NOW(), 'admin', NOW()) ON CONFLICT ("teamId", "featureId") DO NOTHING`,
              [assigned],
            );
            if (team === 'off')
              await t.dataSource.query(`UPDATE "TeamFeatures" SET "enabled" = false WHERE "teamId" = $1`, [assigned]);
          }
          cases.push({ user, team, userId, label: `user=${user} team=${team}` });
        }
      }
      const actual = [];
      for (const c of cases) actual.push({ label: c.label, ...(await explain('seeded-flag', c.userId)) });
      expect(actual).toEqual(cases.map((c) => ({ label: c.label, ...expected(c.user, c.team, false) })));

      expect(await explain('calendar-subscription-cache', 123)).toEqual({ enabled: true, reason: 'user' });
      await join(456, 123);
      const teamMate = await newUser();
      await join(456, teamMate);
      expect(await explain('calendar-subscription-sync', teamMate)).toEqual({ enabled: true, reason: 'team' });

      // The API lists and changes the seeded rows like its own.
      const listed = (await t.admin.get('/api/v1/admin/features').expect(200)).body.items.find(
        (f: { slug: string }) => f.slug === 'seeded-flag',
      );
      expect(listed).toMatchObject({ enabled: false, type: 'OPERATIONAL', updatedBy: null, description: 'Written by SQL' });
      const seededRow = await t.dataSource.query(
        `SELECT "assignedAt" FROM "UserFeatures" WHERE "userId" = 123 AND "featureId" = 'calendar-subscription-cache'`,
      );
      const changed = await t.admin
        .put('/api/v1/admin/features/calendar-subscription-cache/users/123')
        .set('X-Actor', 'alice')
        .send({ enabled: false })
        .expect(200);
      expect(changed.body).toMatchObject({
        enabled: false,
        assignedBy: 'alice',
        assignedAt: seededRow[0].assignedAt.toISOString(),
      });
      expect(await explain('calendar-subscription-cache', 123)).toEqual({ enabled: false, reason: 'user' });
      await t.admin.delete('/api/v1/admin/features/calendar-subscription-sync/teams/456').expect(204);
      expect(await explain('calendar-subscription-sync', teamMate)).toEqual({ enabled: false, reason: 'global' });
      await t.admin.delete('/api/v1/admin/features/calendar-subscription-cache/users/123').expect(204);
    });

    it('a change is visible at once after PATCH, PUT and DELETE (the cache is cleared)', async () => {
      const slug = await newFlag(false);
      const userId = await newUser();
      const teamId = await newTeam();
      await join(teamId, userId);
      const flags = t.app.get(FeatureFlagService);
      const both = async () => {
        const viaService = await flags.resolve(slug, userId);
        const viaApi = await explain(slug, userId);
        expect(viaApi).toEqual(viaService);
        return viaApi;
      };

      expect(await both()).toEqual({ enabled: false, reason: 'global' });
      await t.admin.patch(`/api/v1/admin/features/${slug}`).send({ enabled: true }).expect(200);
      expect(await both()).toEqual({ enabled: true, reason: 'global' });
      await setTeam(slug, teamId, false);
      expect(await both()).toEqual({ enabled: false, reason: 'team' });
      await setUser(slug, userId, true);
      expect(await both()).toEqual({ enabled: true, reason: 'user' });
      await setUser(slug, userId, false);
      expect(await both()).toEqual({ enabled: false, reason: 'user' });
      await t.admin.delete(`/api/v1/admin/features/${slug}/users/${userId}`).expect(204);
      expect(await both()).toEqual({ enabled: false, reason: 'team' });
      await t.admin.delete(`/api/v1/admin/features/${slug}/teams/${teamId}`).expect(204);
      expect(await both()).toEqual({ enabled: true, reason: 'global' });
      await t.admin.patch(`/api/v1/admin/features/${slug}`).send({ enabled: false }).expect(200);
      expect(await both()).toEqual({ enabled: false, reason: 'global' });
      // A flag created after a lookup of its slug was cached as "off".
      expect(await flags.resolve('born-later', userId)).toEqual({ enabled: false, reason: 'global' });
      await t.admin.post('/api/v1/admin/features').send({ slug: 'born-later', enabled: true }).expect(201);
      expect(await flags.resolve('born-later', userId)).toEqual({ enabled: true, reason: 'global' });
    });
  });

  /**
   * `@RequireFeature` on a probe controller, in a second application instance on the same database
   * (with the same API key guard in front), which also shows how another instance sees a change.
   */
  describe('@RequireFeature guard', () => {
    const GUARDED = 'guarded-probe';
    let probe: NestFastifyApplication;
    let api: (path: string) => request.Test;

    @Controller('probe')
    class ProbeController {
      @Get('users/:userId/thing')
      @RequireFeature(GUARDED)
      thing() {
        return { served: true };
      }

      @Get('owners/:ownerId/thing')
      @RequireFeature(GUARDED, { userParam: 'ownerId' })
      ownerThing() {
        return { served: true };
      }

      @Get('anonymous')
      @RequireFeature(GUARDED)
      anonymous() {
        return { served: true };
      }

      @Get('users/:userId/free')
      free() {
        return { served: true };
      }
    }

    @Module({})
    class ProbeModule {
      static forRoot(config: AppConfig): DynamicModule {
        return {
          module: ProbeModule,
          global: true,
          controllers: [ProbeController],
          providers: [
            { provide: APP_CONFIG, useValue: config },
            { provide: APP_GUARD, useClass: ApiKeyGuard },
          ],
          exports: [APP_CONFIG],
        };
      }
    }

    @Module({})
    class ProbeAppModule {
      static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
        return {
          module: ProbeAppModule,
          imports: [
            CqrsModule.forRoot(),
            DatabaseModule.forRoot(databaseUrl),
            FeatureFlagsModule,
            AccountsModule,
            ProbeModule.forRoot(config),
          ],
        };
      }
    }

    beforeAll(async () => {
      probe = await NestFactory.create<NestFastifyApplication>(ProbeAppModule.forRoot(t.config, t.db.url), new FastifyAdapter(), {
        logger: false,
      });
      configureApp(probe);
      await probe.init();
      await probe.getHttpAdapter().getInstance().ready();
      api = (path) => request(probe.getHttpServer()).get(path).set('Authorization', `Bearer ${t.config.apiKey}`);
      await t.admin.post('/api/v1/admin/features').send({ slug: GUARDED, enabled: false }).expect(201);
    });
    afterAll(async () => {
      await probe?.close();
    });

    it('serves users with the flag on, 403 otherwise, 404 for unknown users, 400 without a user id', async () => {
      const assigned = await newUser();
      await setUser(GUARDED, assigned, true);
      const org = await newTeam();
      const squad = await newTeam(org);
      const viaParentTeam = await newUser();
      await join(squad, viaParentTeam);
      await setTeam(GUARDED, org, true);
      const other = await newUser();
      const optedOut = await newUser();
      await join(squad, optedOut);
      await setUser(GUARDED, optedOut, false);

      await api(`/probe/users/${assigned}/thing`).expect(200, { served: true });
      await api(`/probe/owners/${assigned}/thing`).expect(200, { served: true });
      await api(`/probe/users/${viaParentTeam}/thing`).expect(200, { served: true });
      const refused = await api(`/probe/users/${other}/thing`).expect(403);
      expect(refused.body).toEqual({
        type: 'about:blank',
        title: 'Forbidden',
        status: 403,
        detail: `Feature "${GUARDED}" is not enabled for user ${other}`,
        code: 'forbidden',
        requestId: refused.headers['x-request-id'],
      });
      const ownerRefused = await api(`/probe/owners/${optedOut}/thing`).expect(403);
      expect(ownerRefused.body.detail).toBe(`Feature "${GUARDED}" is not enabled for user ${optedOut}`);
      await api(`/probe/users/${other}/free`).expect(200);

      expect((await api('/probe/users/999999/thing').expect(404)).body.detail).toBe('User 999999 not found');
      expect((await api('/probe/users/abc/thing').expect(400)).body.detail).toBe('"abc" is not a valid id');
      expect((await api('/probe/anonymous').expect(400)).body.detail).toBe(
        `Feature "${GUARDED}" is checked per user, but the route has no userId`,
      );

      // The API key is checked first.
      await request(probe.getHttpServer()).get(`/probe/users/${assigned}/thing`).expect(401);
      await request(probe.getHttpServer())
        .get(`/probe/users/${assigned}/thing`)
        .set('Authorization', `Bearer ${t.config.adminApiKey}`)
        .expect(401);

      // A change made through this instance applies at once; unknown users stay 404.
      await request(probe.getHttpServer())
        .patch(`/api/v1/admin/features/${GUARDED}`)
        .set('Authorization', `Bearer ${t.config.adminApiKey}`)
        .send({ enabled: true })
        .expect(200);
      await api(`/probe/users/${other}/thing`).expect(200);
      await api(`/probe/users/${optedOut}/thing`).expect(403);
      await api('/probe/users/999999/thing').expect(404);
    });

    it('sees a change made through another instance within the cache TTL', async () => {
      const userId = await newUser();
      await t.admin.patch(`/api/v1/admin/features/${GUARDED}`).send({ enabled: false }).expect(200);
      await api(`/probe/users/${userId}/thing`).expect(403);
      await setUser(GUARDED, userId, true);
      await expectEventually(() => api(`/probe/users/${userId}/thing`).expect(200), { timeoutMs: 5000, intervalMs: 100 });
    });
  });
});
