import { createCipheriv, randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { createApp } from '../../src/bootstrap/create-app.js';
import { TokenCipher } from '../../src/infrastructure/crypto/token-cipher.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost } from '../support/fixtures.js';
import { enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';

/** A value as the service sealed it before key rings: `v1.<iv>.<tag>.<body>`, no additional data. */
function legacySeal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

describe('Security hardening', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const sealedKey = async (credentialId: number): Promise<string> =>
    (
      (await t.dataSource.query(`SELECT "encryptedKey" FROM "Credential" WHERE "id" = $1`, [credentialId])) as Array<{
        encryptedKey: string;
      }>
    )[0].encryptedKey;

  describe('id sequence', () => {
    it('an explicit id of 2147483647 does not exhaust the generated ids (users and teams)', async () => {
      await t.api.post('/api/v1/users').send({ id: 2147483647, email: 'max-id@example.com', timeZone: 'UTC' }).expect(201);
      const next = await t.api.post('/api/v1/users').send({ email: 'after-max@example.com', timeZone: 'UTC' }).expect(201);
      expect(next.body.id).toBeLessThan(2 ** 30);
      await t.api.post('/api/v1/users').send({ email: 'after-max-2@example.com', timeZone: 'UTC' }).expect(201);

      await t.api.post('/api/v1/teams').send({ id: 2147483647, name: 'Max team' }).expect(201);
      const team = await t.api.post('/api/v1/teams').send({ name: 'After max' }).expect(201);
      expect(team.body.id).toBeLessThan(2 ** 30);
    });

    it('an explicit id in the generated range still moves the sequence past it; a taken id is skipped', async () => {
      const first = await t.api.post('/api/v1/users').send({ email: 'gen-a@example.com', timeZone: 'UTC' }).expect(201);
      await t.api
        .post('/api/v1/users')
        .send({ id: first.body.id + 5, email: 'host-id@example.com', timeZone: 'UTC' })
        .expect(201);
      const after = await t.api.post('/api/v1/users').send({ email: 'gen-b@example.com', timeZone: 'UTC' }).expect(201);
      expect(after.body.id).toBe(first.body.id + 6);
      // An id the sequence was never moved past (inserted in the upper range, or by SQL) is stepped over.
      await t.dataSource.query(`INSERT INTO "User" ("id", "email", "timeZone") VALUES ($1, 'sql-row@example.com', 'UTC')`, [
        after.body.id + 1,
      ]);
      const skipped = await t.api.post('/api/v1/users').send({ email: 'gen-c@example.com', timeZone: 'UTC' }).expect(201);
      expect(skipped.body.id).toBe(after.body.id + 2);
    });
  });

  describe('sealed credentials', () => {
    it('binds tokens to their row: a sealed value copied to another credential does not open there', async () => {
      const a = await connectGoogleHost(t);
      const b = await connectGoogleHost(t);
      expect(await sealedKey(a.credentialId)).toMatch(/^v2\./);
      await t.dataSource.query(`UPDATE "Credential" SET "encryptedKey" = $2 WHERE "id" = $1`, [
        b.credentialId,
        await sealedKey(a.credentialId),
      ]);
      const res = await t.api.get(`/api/v1/users/${b.userId}/credentials/${b.credentialId}/calendars`).expect(409);
      expect(res.body.code).toBe('credential_unreadable');
      expect(res.body.detail).toMatch(/cannot be opened with ENCRYPTION_KEY/);
      await t.api.get(`/api/v1/users/${a.userId}/credentials/${a.credentialId}/calendars`).expect(200);
      await t.api.delete(`/api/v1/users/${b.userId}/credentials/${b.credentialId}`).expect(204);
    });

    it('records a credential that cannot be opened as the calendar’s sync error', async () => {
      const host = await connectGoogleHost(t);
      await enableFlagForUser(t, SYNC, host.userId);
      await runTask(t, 'subscribe-calendars');
      await waitForQueueIdle(t);
      const garbage = legacySeal(randomBytes(32), '{"accessToken":"x","refreshToken":"y"}');
      await t.dataSource.query(`UPDATE "Credential" SET "encryptedKey" = $2 WHERE "id" = $1`, [host.credentialId, garbage]);
      const [calendar]: Array<{ id: number }> = await t.dataSource.query(
        `SELECT "id" FROM "SelectedCalendar" WHERE "credentialId" = $1`,
        [host.credentialId],
      );
      await t.admin.post(`/api/v1/admin/selected-calendars/${calendar.id}/resync`).expect(202);
      await expectEventually(async () => {
        const [row]: Array<{ syncErrorCount: number; lastError: string | null }> = await t.dataSource.query(
          `SELECT "syncErrorCount", "lastError" FROM "SelectedCalendar" WHERE "id" = $1`,
          [calendar.id],
        );
        expect(row.syncErrorCount).toBeGreaterThanOrEqual(1);
        expect(row.lastError).toMatch(/cannot be opened with ENCRYPTION_KEY/);
      });
      const list = await t.admin.get('/api/v1/admin/selected-calendars?status=error&limit=200').expect(200);
      expect(list.body.items.map((item: { id: number }) => item.id)).toContain(calendar.id);
      await t.api.delete(`/api/v1/users/${host.userId}/credentials/${host.credentialId}`).expect(204);
    });

    it('rotates keys: old values open under the ring, the reseal task moves them to the first key and reports what no key opens', async () => {
      const oldKey = t.config.encryptionKeys[0];
      const host = await connectGoogleHost(t);
      const legacy = await connectGoogleHost(t);
      // One credential as written before key rings (no row binding), with the old key.
      const tokens = JSON.stringify({
        accessToken: 'legacy-access',
        refreshToken: legacy.refreshToken,
        expiresAt: Date.now() + 3_600_000,
      });
      await t.dataSource.query(`UPDATE "Credential" SET "encryptedKey" = $2 WHERE "id" = $1`, [
        legacy.credentialId,
        legacySeal(oldKey, tokens),
      ]);
      const lost = await connectGoogleHost(t);
      await t.dataSource.query(`UPDATE "Credential" SET "encryptedKey" = $2 WHERE "id" = $1`, [
        lost.credentialId,
        legacySeal(randomBytes(32), tokens),
      ]);
      const endpoint = await t.api.post('/api/v1/webhook-endpoints').send({ url: 'https://93.184.215.14/hook' }).expect(201);

      const newKey = randomBytes(32);
      await t.stop();
      t.config.encryptionKeys = [newKey, oldKey];
      t.config.encryptionKey = newKey;
      await t.restart();
      await t.api.get(`/api/v1/users/${legacy.userId}/credentials/${legacy.credentialId}/calendars`).expect(200);

      const report = await t.admin.post('/api/v1/admin/tasks/reseal-credentials/run').expect(200);
      expect(report.body.task).toBe('reseal-credentials');
      const { credentials, webhookEndpoints } = report.body.result;
      expect(credentials.unreadable).toBe(1);
      expect(credentials.unreadableIds).toEqual([lost.credentialId]);
      // Every other credential is now under the new key (one may have been refreshed, and so
      // re-sealed, by the call above already).
      expect(credentials.resealed + credentials.current).toBe(credentials.checked - 1);
      expect(credentials.resealed).toBeGreaterThanOrEqual(1);
      expect(webhookEndpoints).toMatchObject({ unreadable: 0, unreadableIds: [] });
      expect(webhookEndpoints.resealed).toBeGreaterThanOrEqual(1);
      expect(await sealedKey(legacy.credentialId)).toMatch(/^v2\./);

      // A second run finds nothing left to do.
      const again = (await t.admin.post('/api/v1/admin/tasks/reseal-credentials/run').expect(200)).body.result;
      expect(again.credentials).toMatchObject({ resealed: 0, unreadable: 1 });
      expect(again.webhookEndpoints.resealed).toBe(0);

      // The old key can go: everything opens with the new one alone.
      await t.stop();
      t.config.encryptionKeys = [newKey];
      t.config.encryptionKey = newKey;
      await t.restart();
      for (const h of [host, legacy]) {
        await t.api.get(`/api/v1/users/${h.userId}/credentials/${h.credentialId}/calendars`).expect(200);
      }
      await t.api.post(`/api/v1/webhook-endpoints/${endpoint.body.id}/rotate-secret`).expect(200);
      await t.api.delete(`/api/v1/users/${lost.userId}/credentials/${lost.credentialId}`).expect(204);
    });

    it('refuses to start with a key list that opens none of the stored credentials, saying what to do', async () => {
      await connectGoogleHost(t);
      const wrong = randomBytes(32);
      await t.stop();
      const rightKeys = t.config.encryptionKeys;
      await expect(createApp({ ...t.config, encryptionKeys: [wrong], encryptionKey: wrong }, t.db.url)).rejects.toThrow(
        /ENCRYPTION_KEY does not open the stored credentials.*reseal-credentials/s,
      );
      // With the right key it starts again.
      t.config.encryptionKeys = rightKeys;
      await t.restart();
      await t.http.get('/health').expect(200);
    });

    it('starts with a key list that opens an older credential though none of the newest opens', async () => {
      const kept = await connectGoogleHost(t);
      // Newer credentials sealed with a key that is no longer anywhere (more than the newest few the
      // check samples), as after a key was dropped from the list too early.
      const dropped = new TokenCipher([randomBytes(32)]);
      const newer = [];
      for (let i = 0; i < 25; i++) newer.push(await connectGoogleHost(t));
      for (const host of newer) {
        await t.dataSource.query(`UPDATE "Credential" SET "encryptedKey" = $2 WHERE "id" = $1`, [
          host.credentialId,
          dropped.sealJson({ accessToken: 'a', refreshToken: 'r', expiresAt: null }, `credential:${host.credentialId}`),
        ]);
      }
      await t.stop();
      // Its own key opens the older one: the start goes on, with an error naming the missing key's id.
      const errors = jest.spyOn(Logger.prototype, 'error');
      try {
        await t.restart();
        const [droppedKeyId] = dropped.keyIds;
        const logged = errors.mock.calls.map((call) => String(call[0]));
        expect(logged).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `Of the 20 newest credentials, 20 under key id ${droppedKeyId}: sealed with a key that is not in ENCRYPTION_KEY`,
            ),
          ),
        );
        expect(logged.join('\n')).not.toContain(t.config.encryptionKeys[0].toString('hex'));
      } finally {
        errors.mockRestore();
      }
      await t.api.get(`/api/v1/users/${kept.userId}/credentials/${kept.credentialId}/calendars`).expect(200);
      // A list opening none of them is still refused.
      await t.stop();
      const rightKeys = t.config.encryptionKeys;
      const wrong = randomBytes(32);
      await expect(createApp({ ...t.config, encryptionKeys: [wrong], encryptionKey: wrong }, t.db.url)).rejects.toThrow(
        /ENCRYPTION_KEY does not open the stored credentials/,
      );
      t.config.encryptionKeys = rightKeys;
      await t.restart();
      for (const host of newer) await t.api.delete(`/api/v1/users/${host.userId}/credentials/${host.credentialId}`).expect(204);
    });
  });
});

describe('Closing /metrics and /docs', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_AUTH: 'admin', DOCS_ENABLED: 'false' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('keys /metrics with the admin key', async () => {
    const missing = await t.http.get('/metrics').expect(401);
    expect(missing.body.detail).toMatch(/ADMIN_API_KEY/);
    await t.http.get('/metrics').set('Authorization', `Bearer ${t.config.apiKey}`).expect(401);
    const scrape = await t.http.get('/metrics').set('Authorization', `Bearer ${t.config.adminApiKey}`).expect(200);
    expect(scrape.text).toContain('calsync_notifications_received_total');
  });

  it('serves no /docs nor /docs-json', async () => {
    await t.http.get('/docs-json').expect(404);
    await t.http.get('/docs').expect(404);
    await t.http.get('/health').expect(200);
  });
});
