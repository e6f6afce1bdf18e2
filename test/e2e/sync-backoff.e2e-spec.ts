import { TEST_WEBHOOK_TOKEN, type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectConsistently, expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost } from '../support/fixtures.js';
import { enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';

/**
 * A calendar whose syncs keep failing is left alone for a while, whatever asks for a sync: its own
 * failure count sets the wait (5 s, doubling, at most 15 min), because re-adding a queued job resets
 * the queue's own attempt count and so its backoff. An admin's full resync does not wait.
 */
describe('a failing calendar backs off', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('pushes and the safety net do not reach the provider while it backs off; after the wait a push syncs it', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const channel = t.google.liveChannels(host.calendarId)[0].id;
    // Five failures in a row, the last just now: the next try is 80 s away.
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "syncErrorCount" = 5, "syncErrorAt" = now(), "lastError" = 'Google events.list failed (500)' WHERE "channelId" = $1`,
      [channel],
    );
    const before = t.google.callCount('events.list', host.calendarId);
    expect(await t.google.sendPush(channel, 'exists', { token: TEST_WEBHOOK_TOKEN })).toBe(200);
    await runTask(t, 'resync-calendars');
    await expectConsistently(() => expect(t.google.callCount('events.list', host.calendarId)).toBe(before), { durationMs: 2000 });
    // The wait is over (the last failure was long ago): the next push syncs, and the errors clear.
    await t.dataSource.query(`UPDATE "SelectedCalendar" SET "syncErrorAt" = now() - interval '1 hour' WHERE "channelId" = $1`, [
      channel,
    ]);
    expect(await t.google.sendPush(channel, 'exists', { token: TEST_WEBHOOK_TOKEN })).toBe(200);
    await expectEventually(async () => {
      const [row] = await t.dataSource.query(`SELECT "syncErrorCount" FROM "SelectedCalendar" WHERE "channelId" = $1`, [channel]);
      expect(row.syncErrorCount).toBe(0);
    });
    expect(t.google.callCount('events.list', host.calendarId)).toBeGreaterThan(before);
  });
});
