import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost } from '../support/fixtures.js';
import { waitForQueueIdle } from '../support/sync-helpers.js';

const CACHE = 'calendar-subscription-cache';

/** With the scheduler on, as in production: flags set through the admin API drive the work by themselves. */
describe('Feature flags drive channels and the cache', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { SCHEDULER_ENABLED: 'true' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('turning the cache on for a user gets the calendar watched and filled; off stops it and empties the cache', async () => {
    const host = await connectGoogleHost(t, { destination: false });
    t.google.createEvent(host.calendarId, {
      summary: 'busy',
      start: { dateTime: new Date(Date.now() + 86_400_000).toISOString() },
      end: { dateTime: new Date(Date.now() + 90_000_000).toISOString() },
    });
    await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    const range = { start: new Date().toISOString(), end: new Date(Date.now() + 7 * 86_400_000).toISOString() };
    const denied = await t.api.get(`/api/v1/users/${host.userId}/cached-events`).query(range).expect(403);
    expect(denied.body.detail).toBe(`Feature "${CACHE}" is not enabled for user ${host.userId}`);

    await t.admin.put(`/api/v1/admin/features/${CACHE}/users/${host.userId}`).send({}).expect(200);
    await expectEventually(() => expect(t.google.liveChannels(host.calendarId)).toHaveLength(1), { timeoutMs: 15_000 });
    await expectEventually(async () => {
      const cached = await t.api.get(`/api/v1/users/${host.userId}/cached-events`).query(range).expect(200);
      expect(cached.body).toEqual([expect.objectContaining({ externalCalendarId: host.calendarId, isAllDay: false })]);
    });
    await waitForQueueIdle(t);
    expect((await t.api.get(`/api/v1/users/${host.userId}/busy-times`).query(range).expect(200)).body.source).toBe('cache');

    await t.admin.put(`/api/v1/admin/features/${CACHE}/users/${host.userId}`).send({ enabled: false }).expect(200);
    await expectEventually(() => expect(t.google.liveChannels(host.calendarId)).toHaveLength(0), { timeoutMs: 15_000 });
    await expectEventually(async () => {
      const rows: Array<{ count: string }> = await t.dataSource.query(
        `SELECT count(*)::text AS count FROM "CalendarCacheEvent" e JOIN "SelectedCalendar" sc ON sc."id" = e."selectedCalendarId" WHERE sc."userId" = $1`,
        [host.userId],
      );
      expect(rows[0].count).toBe('0');
    });
    expect((await t.api.get(`/api/v1/users/${host.userId}/busy-times`).query(range).expect(200)).body.source).toBe('live');
  }, 40_000);
});
