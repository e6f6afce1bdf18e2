import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost, connectOutlookHost } from '../support/fixtures.js';
import { bookAndSettle, enableFlagForUser, getBooking, runTask, shifted, waitForQueueIdle } from '../support/sync-helpers.js';

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
    expect(res.body.detail).toMatch(/did not answer in time/);
    await t.api.get(`/api/v1/users/${host.userId}/busy-times?${range()}`).expect(200);
  });

  it('Outlook: live busy times answer 504 within the timeout, and work again once Graph answers', async () => {
    const host = await connectOutlookHost(t);
    await selectCalendar(host);
    t.microsoft.faults.slowNext({ operation: 'calendarView', ms: 5000 });
    const began = Date.now();
    const res = await t.api.get(`/api/v1/users/${host.userId}/busy-times?${range()}`).expect(504);
    expect(Date.now() - began).toBeLessThan(2500);
    expect(res.body.detail).toMatch(/did not answer in time/);
    await t.api.get(`/api/v1/users/${host.userId}/busy-times?${range()}`).expect(200);
  });
});

/**
 * A provider slow enough to stay inside PROVIDER_TIMEOUT_MS can still hold a request or a job too
 * long: requests are bounded by REQUEST_TIMEOUT_MS (503 with Retry-After) and job attempts by
 * JOB_TIMEOUT_MS (the attempt fails and is retried; the abandoned run stops before applying a page).
 */
describe('a slow provider, within its own timeout', () => {
  let t: TestApp;

  beforeAll(async () => {
    // REQUEST_TIMEOUT_MS well above what the set-up's own requests take on a loaded machine.
    t = await createTestApp({ env: { PROVIDER_TIMEOUT_MS: '10000', REQUEST_TIMEOUT_MS: '1000', JOB_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    t.google.faults.clear();
    await t.close();
  });

  it('a request still running after REQUEST_TIMEOUT_MS is answered 503 with Retry-After', async () => {
    const host = await connectGoogleHost(t);
    await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    t.google.faults.slowNext({ operation: 'freebusy.query', delayMs: 3000 });
    const start = new Date(Date.now() + 86_400_000);
    const range = `start=${start.toISOString()}&end=${new Date(start.getTime() + 86_400_000).toISOString()}`;
    const began = Date.now();
    const res = await t.api.get(`/api/v1/users/${host.userId}/busy-times?${range}`).expect(503);
    expect(Date.now() - began).toBeLessThan(2500);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 503, code: 'service_unavailable', requestId: res.headers['x-request-id'] });
    expect(res.body.detail).toMatch(/REQUEST_TIMEOUT_MS/);
    // The route's own late answer, once Google answers, goes nowhere and breaks nothing.
    await new Promise((resolve) => setTimeout(resolve, 3000 - (Date.now() - began) + 100));
    await t.api.get(`/api/v1/users/${host.userId}/busy-times?${range}`).expect(200);
  });

  it('a task run answers when the task is done, however long past REQUEST_TIMEOUT_MS, and runs once', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
    t.google.faults.slowNext({ operation: 'events.watch', delayMs: 1500 });
    const began = Date.now();
    const res = await t.admin.post('/api/v1/admin/tasks/subscribe-calendars/run').expect(200);
    expect(Date.now() - began).toBeGreaterThanOrEqual(1500);
    expect(res.body.result).toMatchObject({ watched: 1, failed: 0 });
    expect(t.google.liveChannels(host.calendarId)).toHaveLength(1);
    await waitForQueueIdle(t);
  });

  it('a sync attempt running past JOB_TIMEOUT_MS fails and is retried; the change still lands once', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const booking = await bookAndSettle(t, host);
    t.google.faults.slowNext({ operation: 'events.list', delayMs: 2500 });
    const start = shifted(booking.startTime, 60);
    const end = shifted(booking.endTime, 60);
    t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: start }, end: { dateTime: end } });
    // The first attempt is abandoned after a second, visibly, and retried with backoff.
    await expectEventually(
      async () => {
        const rows: Array<{ last_error: string | null }> = await t.dataSource.query(
          `SELECT last_error FROM graphile_worker.jobs WHERE task_identifier = 'sync-calendar' AND last_error IS NOT NULL`,
        );
        expect(rows.some((r) => /JOB_TIMEOUT_MS/.test(r.last_error ?? ''))).toBe(true);
      },
      { timeoutMs: 5000 },
    );
    await expectEventually(
      async () => expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end }),
      {
        timeoutMs: 30_000,
      },
    );
    await waitForQueueIdle(t, 30_000);
    const after = await getBooking(t, booking.id);
    expect(after.history.filter((h) => h.action === 'rescheduled')).toHaveLength(1);
  }, 45_000);
});
