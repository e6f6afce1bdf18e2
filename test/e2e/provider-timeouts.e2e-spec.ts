import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { connectGoogleHost, connectOutlookHost } from '../support/fixtures.js';

/**
 * A provider that hangs must not hold a request (or a job, or shutdown): every call is abandoned
 * after PROVIDER_TIMEOUT_MS and the caller gets a clear 504, not a request that never ends.
 */
describe('a hung provider', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true, env: { PROVIDER_TIMEOUT_MS: '400' } });
  });
  afterAll(async () => {
    t.google.faults.clear();
    t.microsoft.faults.clear();
    await t.close();
  });

  const range = () => {
    const start = new Date(Date.now() + 86_400_000);
    return `start=${start.toISOString()}&end=${new Date(start.getTime() + 86_400_000).toISOString()}`;
  };

  const selectCalendar = (host: { userId: number; credentialId: number; calendarId: string }) =>
    t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);

  it('Google: live busy times answer 504 within the timeout, and work again once Google answers', async () => {
    const host = await connectGoogleHost(t);
    await selectCalendar(host);
    t.google.faults.slowNext({ operation: 'freebusy.query', delayMs: 5000 });
    const began = Date.now();
    const res = await t.api.get(`/api/v1/users/${host.userId}/busy-times?${range()}`).expect(504);
    expect(Date.now() - began).toBeLessThan(2500);
    expect(res.body.message).toMatch(/did not answer in time/);
    await t.api.get(`/api/v1/users/${host.userId}/busy-times?${range()}`).expect(200);
  });

  it('Outlook: live busy times answer 504 within the timeout, and work again once Graph answers', async () => {
    const host = await connectOutlookHost(t);
    await selectCalendar(host);
    t.microsoft.faults.slowNext({ operation: 'calendarView', ms: 5000 });
    const began = Date.now();
    const res = await t.api.get(`/api/v1/users/${host.userId}/busy-times?${range()}`).expect(504);
    expect(Date.now() - began).toBeLessThan(2500);
    expect(res.body.message).toMatch(/did not answer in time/);
    await t.api.get(`/api/v1/users/${host.userId}/busy-times?${range()}`).expect(200);
  });
});
