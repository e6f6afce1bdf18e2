import { secretFingerprint } from '../../src/modules/providers/webhook-secrets.js';
import { TEST_MICROSOFT_CLIENT_STATE, TEST_WEBHOOK_TOKEN, type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { type Host, connectGoogleHost, connectOutlookHost } from '../support/fixtures.js';
import { afterNotification, afterPush, enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';
const GOOGLE_WEBHOOK = '/api/webhooks/calendar-subscription/google_calendar';
const GRAPH_WEBHOOK = '/api/webhooks/calendar-subscription/office365_calendar';
const NEW_GOOGLE_TOKEN = 'rotated-google-channel-token';
const NEW_CLIENT_STATE = 'rotated-graph-client-state';

interface ChannelRow {
  id: number;
  channelId: string | null;
  channelResourceId: string | null;
  channelSecretFingerprint: string | null;
}

/**
 * Rotating `GOOGLE_WEBHOOK_TOKEN` and `MICROSOFT_WEBHOOK_TOKEN` with `…_PREVIOUS`: nothing a channel
 * delivers is refused while its channel is replaced, and once every channel carries the new secret
 * (the `calsync_channels_stale_secret` gauge at 0) the previous one can go.
 */
describe('Webhook secret rotation', () => {
  let t: TestApp;
  let google: Host;
  let outlook: Host;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true, env: { METRICS_AUTH: 'none' } });
    google = await connectGoogleHost(t);
    outlook = await connectOutlookHost(t);
    await enableFlagForUser(t, SYNC, google.userId);
    await enableFlagForUser(t, SYNC, outlook.userId);
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ watched: 2, failed: 0 });
    await waitForQueueIdle(t);
  });
  afterAll(async () => {
    await t.close();
  });

  /** Sets the two providers' secrets as an operator would in the environment, and restarts. */
  const restartWith = async (secrets: {
    google: string;
    googlePrevious: string | null;
    microsoft: string;
    microsoftPrevious: string | null;
  }) => {
    t.config.google.webhookToken = secrets.google;
    t.config.google.webhookTokenPrevious = secrets.googlePrevious;
    t.config.microsoft.webhookToken = secrets.microsoft;
    t.config.microsoft.webhookTokenPrevious = secrets.microsoftPrevious;
    await t.restart();
  };

  const row = async (host: Host): Promise<ChannelRow> => {
    const rows: ChannelRow[] = await t.dataSource.query(
      `SELECT "id", "channelId", "channelResourceId", "channelSecretFingerprint" FROM "SelectedCalendar"
        WHERE "credentialId" = $1 AND "externalId" = $2`,
      [host.credentialId, host.calendarId],
    );
    return rows[0];
  };

  const googlePush = (channel: ChannelRow, token: string) =>
    t.http
      .post(GOOGLE_WEBHOOK)
      .set('X-Goog-Channel-ID', channel.channelId ?? '')
      .set('X-Goog-Channel-Token', token)
      .set('X-Goog-Resource-ID', channel.channelResourceId ?? '')
      .set('X-Goog-Resource-State', 'exists')
      .set('X-Goog-Message-Number', '7');

  const graphNotification = (channel: ChannelRow, clientState: string) =>
    t.http.post(GRAPH_WEBHOOK).send({
      value: [
        {
          subscriptionId: channel.channelId,
          subscriptionExpirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
          changeType: 'updated',
          clientState,
          tenantId: t.microsoft.tenantId,
          resource: 'Users/u/Events/e',
          resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': 'Users/u/Events/e', id: 'e' },
        },
      ],
    });

  const staleGauge = async (provider: string): Promise<number> => {
    const metrics = await t.http.get('/metrics').expect(200);
    const line = metrics.text.split('\n').find((l) => l.startsWith(`calsync_channels_stale_secret{provider="${provider}"}`));
    if (!line) throw new Error(`no calsync_channels_stale_secret for ${provider} in /metrics`);
    return Number(line.split(' ').pop());
  };

  const liveGraphSubscriptions = () =>
    t.microsoft.subscriptions().filter((s) => !s.expired && s.calendarIds.includes(outlook.calendarId));

  it('records the secret each channel carries, and keeps it when a subscription is extended in place', async () => {
    expect((await row(google)).channelSecretFingerprint).toBe(secretFingerprint(TEST_WEBHOOK_TOKEN));
    const before = await row(outlook);
    expect(before.channelSecretFingerprint).toBe(secretFingerprint(TEST_MICROSOFT_CLIENT_STATE));
    // Inside the renewal window: Graph's subscription is PATCHed, keeping its id and client state.
    await t.dataSource.query(`UPDATE "SelectedCalendar" SET "channelExpiration" = now() + interval '1 hour' WHERE "id" = $1`, [
      before.id,
    ]);
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ renewed: 1, replaced: 0 });
    expect(await row(outlook)).toMatchObject({
      channelId: before.channelId,
      channelSecretFingerprint: secretFingerprint(TEST_MICROSOFT_CLIENT_STATE),
    });
    expect(await staleGauge('google_calendar')).toBe(0);
    expect(await staleGauge('office365_calendar')).toBe(0);
  });

  it('accepts both secrets during a rotation, replaces every channel carrying the old one, then refuses it once retired', async () => {
    const oldGoogle = await row(google);
    const oldGraph = await row(outlook);
    await restartWith({
      google: NEW_GOOGLE_TOKEN,
      googlePrevious: TEST_WEBHOOK_TOKEN,
      microsoft: NEW_CLIENT_STATE,
      microsoftPrevious: TEST_MICROSOFT_CLIENT_STATE,
    });

    // The channels opened before the rotation still deliver: their pushes are accepted, not refused.
    expect((await googlePush(oldGoogle, TEST_WEBHOOK_TOKEN).expect(200)).body).toEqual({ result: 'accepted' });
    await googlePush(oldGoogle, 'neither-token').expect(403);
    expect((await graphNotification(oldGraph, TEST_MICROSOFT_CLIENT_STATE).expect(202)).body).toEqual({ result: 'accepted' });
    await graphNotification(oldGraph, 'neither-client-state').expect(403);
    expect(await staleGauge('google_calendar')).toBe(1);
    expect(await staleGauge('office365_calendar')).toBe(1);
    await waitForQueueIdle(t);

    // The sweep replaces both: a new channel with the new secret first, then the old one stopped.
    // Graph refuses to delete the old subscription this time (as if the process had died first).
    t.microsoft.faults.failNext({ operation: 'subscriptions.delete', status: 500, count: 1000 });
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ replaced: 2, renewed: 0, watched: 0, failed: 0 });
    const newGoogle = await row(google);
    const newGraph = await row(outlook);
    expect(newGoogle.channelId).not.toBe(oldGoogle.channelId);
    expect(newGoogle.channelSecretFingerprint).toBe(secretFingerprint(NEW_GOOGLE_TOKEN));
    expect(t.google.liveChannels(google.calendarId).map((c) => ({ id: c.id, token: c.token }))).toEqual([
      { id: newGoogle.channelId, token: NEW_GOOGLE_TOKEN },
    ]);
    expect(newGraph.channelId).not.toBe(oldGraph.channelId);
    expect(newGraph.channelSecretFingerprint).toBe(secretFingerprint(NEW_CLIENT_STATE));
    // The old subscription still notifies with the old client state, but the stop job queued with
    // its replacement takes it down (a minute later; brought forward here) once Graph lets it.
    expect(liveGraphSubscriptions().map((s) => s.id)).toEqual(expect.arrayContaining([oldGraph.channelId, newGraph.channelId]));
    t.microsoft.faults.clear();
    await t.dataSource.query(
      `SELECT graphile_worker.reschedule_jobs(ARRAY(SELECT id FROM graphile_worker.jobs WHERE task_identifier = 'stop-channel'), run_at := now())`,
    );
    await expectEventually(() =>
      expect(liveGraphSubscriptions().map((s) => ({ id: s.id, clientState: s.clientState }))).toEqual([
        { id: newGraph.channelId, clientState: NEW_CLIENT_STATE },
      ]),
    );
    expect(await staleGauge('google_calendar')).toBe(0);
    expect(await staleGauge('office365_calendar')).toBe(0);
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ replaced: 0, renewed: 0, watched: 0 });
    await waitForQueueIdle(t);

    // The previous secrets retired: the old ones are refused, the channels deliver changes as before.
    await restartWith({ google: NEW_GOOGLE_TOKEN, googlePrevious: null, microsoft: NEW_CLIENT_STATE, microsoftPrevious: null });
    await googlePush(newGoogle, TEST_WEBHOOK_TOKEN).expect(403);
    await graphNotification(newGraph, TEST_MICROSOFT_CLIENT_STATE).expect(403);
    const googlePushes = t.google.pushLog.length;
    await afterPush(t, () => t.google.createEvent(google.calendarId, busyEvent('Google, after the rotation')));
    expect(t.google.pushLog.slice(googlePushes)).toEqual(
      expect.arrayContaining([expect.objectContaining({ channelId: newGoogle.channelId, status: 200 })]),
    );
    const graphNotifications = t.microsoft.notificationLog.length;
    await afterNotification(t, () => t.microsoft.createEvent(outlook.calendarId, graphBusyEvent('Outlook, after the rotation')));
    const delivered = t.microsoft.notificationLog.slice(graphNotifications).filter((n) => n.kind === 'notification');
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.every((n) => n.status === 202 && n.subscriptionIds.every((id) => id === newGraph.channelId))).toBe(true);
  });

  it('replaces a channel recorded before fingerprints only during a rotation', async () => {
    await t.dataSource.query(`UPDATE "SelectedCalendar" SET "channelSecretFingerprint" = NULL WHERE "id" = $1`, [
      (await row(google)).id,
    ]);
    // No rotation under way: a channel of unknown secret is taken to carry the current one.
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ replaced: 0 });
    expect(await staleGauge('google_calendar')).toBe(0);

    // A rotation is under way (the previous token set): it may carry the old one, so it is replaced once.
    const unknown = await row(google);
    await restartWith({
      google: NEW_GOOGLE_TOKEN,
      googlePrevious: TEST_WEBHOOK_TOKEN,
      microsoft: NEW_CLIENT_STATE,
      microsoftPrevious: null,
    });
    expect(await staleGauge('google_calendar')).toBe(1);
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ replaced: 1, failed: 0 });
    const replaced = await row(google);
    expect(replaced.channelId).not.toBe(unknown.channelId);
    expect(replaced.channelSecretFingerprint).toBe(secretFingerprint(NEW_GOOGLE_TOKEN));
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ replaced: 0 });
    await waitForQueueIdle(t);
  });

  it('leaves channels of a token changed without the previous one alone (a replica may still use it) until the previous one is set', async () => {
    const before = await row(google);
    const beforeGraph = await row(outlook);
    await restartWith({
      google: 'changed-google-token',
      googlePrevious: null,
      microsoft: 'changed-client-state',
      microsoftPrevious: null,
    });
    // Their pushes are refused, and they are not replaced: without a previous token this replica
    // cannot tell a retired secret from a newer one of a replica configured otherwise.
    await googlePush(before, NEW_GOOGLE_TOKEN).expect(403);
    await graphNotification(beforeGraph, NEW_CLIENT_STATE).expect(403);
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ replaced: 0, failed: 0 });
    expect(await staleGauge('google_calendar')).toBe(0);
    expect((await row(google)).channelId).toBe(before.channelId);

    // Naming the token they carry as the previous one rotates them.
    await restartWith({
      google: 'changed-google-token',
      googlePrevious: NEW_GOOGLE_TOKEN,
      microsoft: 'changed-client-state',
      microsoftPrevious: NEW_CLIENT_STATE,
    });
    expect(await staleGauge('google_calendar')).toBe(1);
    expect(await staleGauge('office365_calendar')).toBe(1);
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ replaced: 2, failed: 0 });
    expect((await row(google)).channelSecretFingerprint).toBe(secretFingerprint('changed-google-token'));
    const after = await row(google);
    expect(t.google.liveChannels(google.calendarId).map((c) => c.token)).toEqual(['changed-google-token']);
    expect(liveGraphSubscriptions().map((s) => s.clientState)).toEqual(['changed-client-state']);
    expect((await googlePush(after, 'changed-google-token').expect(200)).body).toEqual({ result: 'accepted' });
    await expectEventually(async () => expect(await staleGauge('office365_calendar')).toBe(0));
    await waitForQueueIdle(t);
  });
});

function busyEvent(summary: string) {
  const start = new Date(Date.now() + 3 * 86_400_000);
  start.setUTCHours(14, 0, 0, 0);
  return {
    summary,
    start: { dateTime: start.toISOString() },
    end: { dateTime: new Date(start.getTime() + 30 * 60_000).toISOString() },
  };
}

function graphBusyEvent(subject: string) {
  const start = new Date(Date.now() + 3 * 86_400_000);
  start.setUTCHours(15, 0, 0, 0);
  const end = new Date(start.getTime() + 30 * 60_000);
  return {
    subject,
    start: { dateTime: start.toISOString().slice(0, 19), timeZone: 'UTC' },
    end: { dateTime: end.toISOString().slice(0, 19), timeZone: 'UTC' },
  };
}
