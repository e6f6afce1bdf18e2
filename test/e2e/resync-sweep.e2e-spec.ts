import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { connectGoogleHost } from '../support/fixtures.js';
import { enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

const CACHE = 'calendar-subscription-cache';

/**
 * The safety-net sweep (`resync-calendars`) queues its syncs in bulk (one statement per thousand
 * calendars). Each subscribed calendar must still get exactly one keyed sync in its own queue, and
 * a change whose push never came must be cached after it.
 */
describe('the safety-net resync sweep', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('syncs every subscribed calendar once and picks up changes no push announced', async () => {
    const calendars: Array<{ id: number; externalId: string }> = [];
    for (let h = 0; h < 3; h++) {
      const host = await connectGoogleHost(t, { destination: false });
      await enableFlagForUser(t, CACHE, host.userId);
      const externalIds = [
        host.calendarId,
        ...[1, 2, 3].map((i) => t.google.addCalendar(host.email, { summary: `Sweep ${i}` }).id),
      ];
      for (const externalId of externalIds) {
        const res = await t.api
          .post(`/api/v1/users/${host.userId}/selected-calendars`)
          .send({ credentialId: host.credentialId, externalId })
          .expect(201);
        calendars.push({ id: res.body.id, externalId });
      }
    }
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    // A change in every calendar that no push announces (seeded silently).
    const start = Math.ceil(Date.now() / 60_000) * 60_000 + 3 * 86_400_000;
    for (const calendar of calendars) {
      t.google.seedEvents(calendar.externalId, [
        {
          summary: 'Missed by every push',
          start: { dateTime: new Date(start).toISOString() },
          end: { dateTime: new Date(start + 1800_000).toISOString() },
        },
      ]);
    }
    const listed = calendars.map((c) => t.google.callCount('events.list', c.externalId));

    const result = await runTask(t, 'resync-calendars');
    const queued: Array<{ key: string; queue_name: string }> = await t.dataSource.query(
      `SELECT key, queue_name FROM graphile_worker.jobs WHERE task_identifier = 'sync-calendar' ORDER BY key`,
    );
    await waitForQueueIdle(t);

    expect(result.enqueued).toBe(calendars.length);
    // Queued before the workers took them: at most one per calendar, under its key and in its queue.
    for (const job of queued) {
      const id = Number(/^sync:(\d+)$/.exec(job.key)?.[1]);
      expect(calendars.map((c) => c.id)).toContain(id);
      expect(job.queue_name).toBe(`calendar:${id}`);
    }
    expect(new Set(queued.map((j) => j.key)).size).toBe(queued.length);
    expect(calendars.map((c, i) => t.google.callCount('events.list', c.externalId) - listed[i])).toEqual(calendars.map(() => 1));
    const cached: Array<{ id: number; n: number }> = await t.dataSource.query(
      `SELECT "selectedCalendarId" AS id, count(*)::int AS n FROM "CalendarCacheEvent"
        WHERE "selectedCalendarId" = ANY($1::int[]) AND "start" = to_timestamp($2::float8 / 1000) GROUP BY 1`,
      [calendars.map((c) => c.id), start],
    );
    expect(cached.map((r) => r.n)).toEqual(calendars.map(() => 1));
  });
});
