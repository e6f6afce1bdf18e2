import { findById } from '../../src/infrastructure/database/find-by-id.js';
import { SelectedCalendarEntity } from '../../src/modules/connections/entities/selected-calendar.entity.js';
import { ChannelManager } from '../../src/modules/subscriptions/channel-manager.js';
import { ChannelStore } from '../../src/modules/subscriptions/channel-store.js';
import { expectEventually } from '../support/expect-eventually.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { connectGoogleHost, connectOutlookHost } from '../support/fixtures.js';
import { enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';

/**
 * Two channel operations for one calendar at the same moment (the minute's renewal and a Graph
 * life-cycle job, two instances' ticks) both start from the same stored channel. Only one may win:
 * the calendar keeps exactly one live channel at the provider, and the loser's is stopped.
 */
describe('channel operations racing for one calendar', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true });
  });
  afterAll(async () => {
    await t.close();
  });

  const row = async (credentialId: number) => {
    const rows: Array<{ id: number }> = await t.dataSource.query(
      `SELECT "id" FROM "SelectedCalendar" WHERE "credentialId" = $1`,
      [credentialId],
    );
    return (await findById(t.dataSource, SelectedCalendarEntity, rows[0].id))!;
  };

  /** The host's calendar followed for sync and subscribed, its row as it then stands. */
  const subscribed = async (host: { userId: number; credentialId: number }) => {
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    return row(host.credentialId);
  };

  it('Google: a renewal and a re-watch from the same state leave one live channel, the one stored', async () => {
    const host = await connectGoogleHost(t);
    const stale = await subscribed(host);
    const channels = t.app.get(ChannelManager);
    await Promise.all([channels.watch(stale, 'renew'), channels.watch(stale, 'watch'), channels.watch(stale, 'renew')]);
    const stored = await row(host.credentialId);
    const live = t.google.liveChannels(host.calendarId);
    expect(live.map((c) => c.id)).toEqual([stored.channelId]);
    expect(stored.channelId).not.toBe(stale.channelId);
  });

  it('Outlook: two recreates racing leave one new subscription, the one stored', async () => {
    const host = await connectOutlookHost(t);
    const stale = await subscribed(host);
    const channels = t.app.get(ChannelManager);
    await Promise.all([channels.watch(stale, 'recreate'), channels.watch(stale, 'recreate')]);
    const stored = await row(host.credentialId);
    const subscriptions = t.microsoft.subscriptions().filter((s) => s.calendarIds.includes(host.calendarId) && !s.expired);
    // The old one was not stopped by us (a recreate answers its removal), the surplus new one was.
    expect(subscriptions.map((s) => s.id).filter((id) => id !== stale.channelId)).toEqual([stored.channelId]);
  });

  it('a channel a calendar holds, or a stop job is about to stop, counts as recorded (never taken over)', async () => {
    const host = await connectOutlookHost(t, { destination: false });
    await enableFlagForUser(t, 'calendar-subscription-cache', host.userId);
    const selected = await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const held = (await row(host.credentialId)).channelId!;
    const store = t.app.get(ChannelStore);
    expect([...(await store.recordedAmong([held, 'not-a-channel']))]).toEqual([held]);
    // The calendar is removed while Graph refuses to delete its subscription: the row is gone,
    // the stop job keeps retrying, and the subscription is still not free.
    t.microsoft.faults.failNext({ operation: 'subscriptions.delete', status: 500, count: 1000 });
    await t.api.delete(`/api/v1/users/${host.userId}/selected-calendars/${selected.body.id}`).expect(204);
    await expectEventually(async () =>
      expect(
        await t.dataSource.query(`SELECT 1 FROM graphile_worker.jobs WHERE task_identifier = 'stop-channel' AND attempts > 0`),
      ).toHaveLength(1),
    );
    expect([...(await store.recordedAmong([held]))]).toEqual([held]);
    t.microsoft.faults.clear();
    await t.dataSource.query(
      `SELECT graphile_worker.reschedule_jobs(ARRAY(SELECT id FROM graphile_worker.jobs WHERE task_identifier = 'stop-channel'), run_at := now())`,
    );
    await expectEventually(async () => expect([...(await store.recordedAmong([held]))]).toEqual([]), { timeoutMs: 10_000 });
  });

  it('an unwatch from a stale state does not forget the channel a renewal stored meanwhile', async () => {
    const host = await connectGoogleHost(t);
    const stale = await subscribed(host);
    const channels = t.app.get(ChannelManager);
    // The renewal replaces the channel; the unwatch, started from the state before it, stops the old one.
    await channels.watch(stale, 'renew');
    await waitForQueueIdle(t);
    const renewed = (await row(host.credentialId)).channelId;
    expect(renewed).not.toBe(stale.channelId);
    const cursor = (await row(host.credentialId)).syncToken;
    expect(cursor).not.toBeNull();
    await channels.unwatch(stale, false);
    // Nor is its cursor reset: the calendar is followed on, with no full resync.
    expect((await row(host.credentialId)).syncToken).toBe(cursor);
    // The renewed channel is still recorded (so the next subscribe-calendars can stop it if no one
    // wants the calendar), not left live at Google with nothing pointing at it.
    expect((await row(host.credentialId)).channelId).toBe(renewed);
    expect(t.google.liveChannels(host.calendarId).map((c) => c.id)).toEqual([renewed]);
  });
});
