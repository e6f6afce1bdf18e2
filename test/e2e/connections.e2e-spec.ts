import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost } from '../support/fixtures.js';
import { enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

describe('Provider connections', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  // Connecting through OAuth (start → consent → callback → complete, PKCE, scopes, the forwarded-link
  // attack): test/e2e/oauth-host-flow.e2e-spec.ts.

  it('refreshes an expired access token and keeps the new one, encrypted', async () => {
    const email = `refresh.${process.pid}@example.com`;
    const account = t.google.addAccount({ email });
    const user = await t.api.post('/api/v1/users').send({ email, timeZone: 'UTC' }).expect(201);
    const credential = await t.api
      .post(`/api/v1/users/${user.body.id}/credentials`)
      .send({
        provider: 'google_calendar',
        accessToken: 'stale',
        refreshToken: account.refreshToken,
        expiresAt: new Date(Date.now() - 60_000).toISOString(),
      })
      .expect(201);
    const before: Array<{ encryptedKey: string; expiresAt: Date }> = await t.dataSource.query(
      `SELECT "encryptedKey", "expiresAt" FROM "Credential" WHERE id = $1`,
      [credential.body.id],
    );
    await t.api.get(`/api/v1/users/${user.body.id}/credentials/${credential.body.id}/calendars`).expect(200);
    await expectEventually(async () => {
      const after: Array<{ encryptedKey: string; expiresAt: Date }> = await t.dataSource.query(
        `SELECT "encryptedKey", "expiresAt" FROM "Credential" WHERE id = $1`,
        [credential.body.id],
      );
      expect(after[0].encryptedKey).not.toBe(before[0].encryptedKey);
      expect(after[0].expiresAt.getTime()).toBeGreaterThan(Date.now());
    });
    expect(t.google.callCount('token')).toBeGreaterThanOrEqual(1);
  });

  it('marks a credential invalid when the user revoked access, and stops watching its calendars', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    expect(t.google.liveChannels(host.calendarId)).toHaveLength(1);
    t.google.revokeRefreshToken(host.refreshToken);
    t.google.expireAccessTokens();
    const res = await t.api.get(`/api/v1/users/${host.userId}/credentials/${host.credentialId}/calendars`).expect(409);
    expect(res.body.detail).toMatch(/revoked access|no longer valid/);
    const list = await t.api.get(`/api/v1/users/${host.userId}/credentials`).expect(200);
    expect(list.body[0]).toMatchObject({ id: host.credentialId, status: 'invalid' });
    const result = await runTask(t, 'subscribe-calendars');
    expect(result.stopped).toBe(1);
    const rows: Array<{ channelId: string | null }> = await t.dataSource.query(
      `SELECT "channelId" FROM "SelectedCalendar" WHERE "credentialId" = $1`,
      [host.credentialId],
    );
    expect(rows).toEqual([{ channelId: null }]);
  });

  it('selects calendars for busy times, refuses duplicates, and reports sync state', async () => {
    const host = await connectGoogleHost(t, { destination: false });
    const selected = await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    expect(selected.body).toMatchObject({
      externalId: host.calendarId,
      channelId: null,
      channelExpiration: null,
      syncSubscribedAt: null,
      syncedAt: null,
      syncErrorAt: null,
      syncErrorCount: 0,
    });
    await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(409);
    await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: 'missing@example.com' })
      .expect(404);
    const list = await t.api.get(`/api/v1/users/${host.userId}/selected-calendars`).expect(200);
    expect(list.body.map((c: { id: number }) => c.id)).toEqual([selected.body.id]);
    await t.api.delete(`/api/v1/users/${host.userId}/selected-calendars/${selected.body.id}`).expect(204);
    await t.api.delete(`/api/v1/users/${host.userId}/selected-calendars/${selected.body.id}`).expect(404);
  });

  it('removing a credential stops its channels and drops its calendars', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    expect(t.google.liveChannels(host.calendarId)).toHaveLength(1);
    await t.api.delete(`/api/v1/users/${host.userId}/credentials/${host.credentialId}`).expect(204);
    await expectEventually(() => expect(t.google.liveChannels(host.calendarId)).toHaveLength(0));
    const rows: unknown[] = await t.dataSource.query(`SELECT 1 FROM "SelectedCalendar" WHERE "credentialId" = $1`, [
      host.credentialId,
    ]);
    expect(rows).toHaveLength(0);
  });
});
