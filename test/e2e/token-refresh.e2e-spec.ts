import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { connectGoogleHost, connectOutlookHost } from '../support/fixtures.js';

/**
 * Concurrent calls for one credential whose access token expired refresh it once: a provider
 * that rotates refresh tokens would otherwise see the older one used after the newer was issued,
 * and the stored credential could end up with a spent refresh token.
 */
describe('refreshing a credential’s tokens', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true });
  });
  afterAll(async () => {
    await t.close();
  });

  const range = () => {
    const start = new Date(Date.now() + 86_400_000);
    return `start=${start.toISOString()}&end=${new Date(start.getTime() + 86_400_000).toISOString()}`;
  };

  const expireStoredToken = async (credentialId: number) => {
    // What a credential looks like an hour later: its access token is past its expiry.
    await t.dataSource.query(`UPDATE "Credential" SET "expiresAt" = now() - interval '1 minute' WHERE "id" = $1`, [credentialId]);
  };

  it.each([
    ['Google', () => connectGoogleHost(t), () => t.google.callCount('token'), () => t.google.expireAccessTokens()],
    ['Outlook', () => connectOutlookHost(t), () => t.microsoft.callCount('token'), () => t.microsoft.expireAccessTokens()],
  ])('%s: ten concurrent requests refresh once, and the new tokens are stored', async (_name, connect, tokenCalls, expire) => {
    const host = await connect();
    await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    const before: Array<{ encryptedKey: string }> = await t.dataSource.query(
      `SELECT "encryptedKey" FROM "Credential" WHERE "id" = $1`,
      [host.credentialId],
    );
    expire();
    await expireStoredToken(host.credentialId);
    const calls = tokenCalls();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => t.api.get(`/api/v1/users/${host.userId}/busy-times?${range()}`)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(tokenCalls() - calls).toBe(1);
    const after: Array<{ encryptedKey: string; expiresAt: Date }> = await t.dataSource.query(
      `SELECT "encryptedKey", "expiresAt" FROM "Credential" WHERE "id" = $1`,
      [host.credentialId],
    );
    expect(after[0].encryptedKey).not.toBe(before[0].encryptedKey);
    expect(new Date(after[0].expiresAt).getTime()).toBeGreaterThan(Date.now());
  });
});
