import { TEST_WEBHOOK_TOKEN, type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost, slot } from '../support/fixtures.js';
import { afterPush, enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';
const CACHE = 'calendar-subscription-cache';
const WEBHOOK = '/api/webhooks/calendar-subscription/google_calendar';

describe('Channels and webhook intake', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => t.google.faults.clear());

  const calendarRow = async (credentialId: number, externalId: string) => {
    const rows: Array<Record<string, unknown>> = await t.dataSource.query(
      `SELECT * FROM "SelectedCalendar" WHERE "credentialId" = $1 AND "externalId" = $2`,
      [credentialId, externalId],
    );
    return rows[0];
  };

  it('watches exactly the calendars a feature needs, with one channel per calendar', async () => {
    const syncUser = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, syncUser.userId);
    const noFlags = await connectGoogleHost(t);
    const cacheUser = await connectGoogleHost(t, { destination: false });
    await enableFlagForUser(t, CACHE, cacheUser.userId);
    await t.api
      .post(`/api/v1/users/${cacheUser.userId}/selected-calendars`)
      .send({ credentialId: cacheUser.credentialId, externalId: cacheUser.calendarId })
      .expect(201);
    const both = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, both.userId);
    await enableFlagForUser(t, CACHE, both.userId);
    await t.api
      .post(`/api/v1/users/${both.userId}/selected-calendars`)
      .send({ credentialId: both.credentialId, externalId: both.calendarId })
      .expect(201);

    const result = await runTask(t, 'subscribe-calendars');
    expect(result.watched).toBe(3);
    expect(t.google.liveChannels(syncUser.calendarId)).toHaveLength(1);
    expect(t.google.liveChannels(noFlags.calendarId)).toHaveLength(0);
    expect(t.google.liveChannels(cacheUser.calendarId)).toHaveLength(1);
    expect(t.google.liveChannels(both.calendarId)).toHaveLength(1);

    const row = await calendarRow(syncUser.credentialId, syncUser.calendarId);
    const channel = t.google.liveChannels(syncUser.calendarId)[0];
    expect(row.channelId).toBe(channel.id);
    expect(row.channelResourceId).toBe(channel.resourceId);
    expect(new Date(row.channelExpiration as string).getTime()).toBe(channel.expiration);
    expect(row.syncSubscribedAt).not.toBeNull();
    expect(channel.address).toBe(`${t.baseUrl}${WEBHOOK}`);
    expect(channel.token).toBe(TEST_WEBHOOK_TOKEN);
    await waitForQueueIdle(t);
    expect((await calendarRow(syncUser.credentialId, syncUser.calendarId)).syncedAt).not.toBeNull();

    // A second run changes nothing.
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ watched: 0, renewed: 0, stopped: 0 });

    // Flag off: the channel nobody needs any more is stopped.
    await enableFlagForUser(t, SYNC, syncUser.userId, false);
    await new Promise((r) => setTimeout(r, 2100)); // the flag cache lives two seconds
    const afterOff = await runTask(t, 'subscribe-calendars');
    expect(afterOff.stopped).toBeGreaterThanOrEqual(1);
    expect(t.google.liveChannels(syncUser.calendarId)).toHaveLength(0);
    expect((await calendarRow(syncUser.credentialId, syncUser.calendarId)).channelId).toBeNull();
  });

  it('forgets the failure of a calendar nobody follows any more; one still followed stays in error', async () => {
    await runTask(t, 'subscribe-calendars'); // whatever earlier tests left is settled first
    const leaving = await connectGoogleHost(t);
    const staying = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, leaving.userId);
    await enableFlagForUser(t, SYNC, staying.userId);
    t.google.faults.failNext({ count: 2, operation: 'events.watch', status: 403, reason: 'forbidden' });
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ watched: 0, failed: 2 });
    const leavingRow = await calendarRow(leaving.credentialId, leaving.calendarId);
    const stayingRow = await calendarRow(staying.credentialId, staying.calendarId);
    const inError = async () =>
      (
        (await t.admin.get('/api/v1/admin/selected-calendars?status=error&limit=200').expect(200)).body.items as Array<{
          id: number;
        }>
      ).map((item) => item.id);
    expect(await inError()).toEqual(expect.arrayContaining([leavingRow.id, stayingRow.id]));

    await enableFlagForUser(t, SYNC, leaving.userId, false);
    await new Promise((r) => setTimeout(r, 2100)); // the flag cache lives two seconds
    await runTask(t, 'subscribe-calendars');
    const errors = await inError();
    expect(errors).not.toContain(leavingRow.id);
    expect(errors).toContain(stayingRow.id);
    expect(await calendarRow(leaving.credentialId, leaving.calendarId)).toMatchObject({
      syncErrorCount: 0,
      lastError: null,
      nextSubscribeAttemptAt: null,
    });
    expect((await calendarRow(staying.credentialId, staying.calendarId)).lastError).toMatch(/subscribe failed/);
  });

  it('renews a channel before it expires: the new channel first, then the old one stopped', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    const old = t.google.liveChannels(host.calendarId)[0];
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "channelExpiration" = now() + interval '2 hours' WHERE "channelId" = $1`,
      [old.id],
    );
    const result = await runTask(t, 'subscribe-calendars');
    expect(result.renewed).toBe(1);
    const live = t.google.liveChannels(host.calendarId);
    expect(live).toHaveLength(1);
    expect(live[0].id).not.toBe(old.id);
    expect(t.google.channels().find((c) => c.id === old.id)?.stopped).toBe(true);
    const watchCalls = t.google.calls
      .filter((c) => c.operation === 'events.watch' || c.operation === 'channels.stop')
      .map((c) => c.operation);
    expect(watchCalls.slice(-2)).toEqual(['events.watch', 'channels.stop']);
    expect((await calendarRow(host.credentialId, host.calendarId)).channelId).toBe(live[0].id);
  });

  it('a failing watch is recorded on the calendar and retried later, not at every tick', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    t.google.faults.failNext({ count: 1, operation: 'events.watch', status: 403, reason: 'forbidden' });
    const result = await runTask(t, 'subscribe-calendars');
    expect(result.failed).toBe(1);
    const row = await calendarRow(host.credentialId, host.calendarId);
    expect(row.syncErrorCount).toBe(1);
    expect(row.lastError).toMatch(/subscribe failed/);
    expect(new Date(row.nextSubscribeAttemptAt as string).getTime()).toBeGreaterThan(Date.now());
    expect((await runTask(t, 'subscribe-calendars')).deferred).toBeGreaterThanOrEqual(1);
  });

  it('a calendar whose channel cannot be opened is still followed by the safety-net sweep', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    // Google refuses every channel for this calendar (a push address it does not accept, say).
    t.google.faults.failNext({ count: 1000, operation: 'events.watch', status: 403, reason: 'forbidden' });
    await runTask(t, 'subscribe-calendars');
    expect((await calendarRow(host.credentialId, host.calendarId)).channelId).toBeNull();
    const when = slot(4);
    const created = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Followed without pushes', ...when, attendees: [{ email: 'guest@example.com' }] })
      .expect(201);
    const eventId = await expectEventually(async () => {
      const view = await t.api.get(`/api/v1/bookings/${created.body.id}`).expect(200);
      expect(view.body.references).toHaveLength(1);
      return view.body.references[0].externalEventId as string;
    });
    await waitForQueueIdle(t);
    // The host moves the event; no channel, so no push. The sweep syncs the calendar all the same.
    const startTime = new Date(Date.parse(when.startTime) + 3_600_000).toISOString();
    const endTime = new Date(Date.parse(when.endTime) + 3_600_000).toISOString();
    t.google.updateEvent(host.calendarId, eventId, { start: { dateTime: startTime }, end: { dateTime: endTime } });
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    const booking = (await t.api.get(`/api/v1/bookings/${created.body.id}`).expect(200)).body;
    expect(booking).toMatchObject({ status: 'accepted', startTime, endTime });
    expect(t.google.liveChannels(host.calendarId)).toHaveLength(0);
    // The sweep's successful sync does not clear the channel's failure: the calendar stays in
    // error (no push will come), and the next failed attempt backs off further instead of starting over.
    const row = await calendarRow(host.credentialId, host.calendarId);
    expect(row).toMatchObject({ syncErrorCount: 1, lastError: expect.stringMatching(/subscribe failed/) });
    expect(row.syncedAt).not.toBeNull();
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "nextSubscribeAttemptAt" = now() - interval '1 second' WHERE "id" = $1`,
      [row.id],
    );
    await runTask(t, 'subscribe-calendars');
    expect(await calendarRow(host.credentialId, host.calendarId)).toMatchObject({ syncErrorCount: 2 });
  });

  it('rejects pushes with a forged or missing token and syncs nothing', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const channel = t.google.liveChannels(host.calendarId)[0];
    const lists = t.google.callCount('events.list', host.calendarId);
    const headers = {
      'X-Goog-Channel-ID': channel.id,
      'X-Goog-Resource-ID': channel.resourceId,
      'X-Goog-Resource-State': 'exists',
    };
    const forged = await t.http.post(WEBHOOK).set(headers).set('X-Goog-Channel-Token', 'forged').expect(403);
    expect(forged.body).toEqual({
      type: 'about:blank',
      title: 'Forbidden',
      status: 403,
      detail: 'Invalid channel token',
      code: 'invalid_channel_token',
      requestId: forged.headers['x-request-id'],
    });
    await t.http.post(WEBHOOK).set(headers).expect(403);
    expect(await t.google.sendPush(channel.id, 'exists', { token: 'forged-too' })).toBe(403);
    const jobs: Array<{ count: string }> = await t.dataSource.query(`SELECT count(*)::text AS count FROM graphile_worker.jobs`);
    expect(jobs[0].count).toBe('0');
    expect(t.google.callCount('events.list', host.calendarId)).toBe(lists);
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/calsync_notifications_received_total\{provider="google_calendar",result="forbidden"\} 3/);

    // The same push with the right token is taken, and answered as JSON.
    const accepted = await t.http.post(WEBHOOK).set(headers).set('X-Goog-Channel-Token', TEST_WEBHOOK_TOKEN).expect(200);
    expect(accepted.headers['content-type']).toMatch(/^application\/json/);
    expect(accepted.body).toEqual({ result: 'accepted' });
    await waitForQueueIdle(t);
    expect(t.google.callCount('events.list', host.calendarId)).toBe(lists + 1);
  });

  it('answers 200 to an unknown channel and does nothing', async () => {
    const res = await t.http
      .post(WEBHOOK)
      .set({
        'X-Goog-Channel-ID': 'not-ours',
        'X-Goog-Channel-Token': TEST_WEBHOOK_TOKEN,
        'X-Goog-Resource-ID': 'not-ours-either',
        'X-Goog-Resource-State': 'exists',
      })
      .expect(200);
    expect(res.body).toEqual({ result: 'unknown_channel' });
    const jobs: Array<{ count: string }> = await t.dataSource.query(`SELECT count(*)::text AS count FROM graphile_worker.jobs`);
    expect(jobs[0].count).toBe('0');
  });

  it('refuses a push without X-Goog-Resource-ID (400, nothing processed)', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const channel = t.google.liveChannels(host.calendarId)[0];
    const lists = t.google.callCount('events.list', host.calendarId);
    const res = await t.http
      .post(WEBHOOK)
      .set({ 'X-Goog-Channel-ID': channel.id, 'X-Goog-Channel-Token': TEST_WEBHOOK_TOKEN, 'X-Goog-Resource-State': 'exists' })
      .expect(400);
    expect(res.body.detail).toBe('X-Goog-Resource-ID header is required on a Google Calendar push');
    const jobs: Array<{ count: string }> = await t.dataSource.query(`SELECT count(*)::text AS count FROM graphile_worker.jobs`);
    expect(jobs[0].count).toBe('0');
    await waitForQueueIdle(t);
    expect(t.google.callCount('events.list', host.calendarId)).toBe(lists);
  });

  it('410 from Google leads to a full resync that leaves the cache exactly like the calendar', async () => {
    const host = await connectGoogleHost(t, { destination: false });
    await enableFlagForUser(t, CACHE, host.userId);
    const selected = await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    const keep = t.google.createEvent(host.calendarId, {
      summary: 'keep',
      start: { dateTime: slot(1).startTime },
      end: { dateTime: slot(1).endTime },
    });
    const doomed = t.google.createEvent(host.calendarId, {
      summary: 'doomed',
      start: { dateTime: slot(2).startTime },
      end: { dateTime: slot(2).endTime },
    });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const cached = async () =>
      (
        (await t.dataSource.query(
          `SELECT "externalId" FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 ORDER BY "start"`,
          [selected.body.id],
        )) as Array<{ externalId: string }>
      ).map((r) => r.externalId);
    expect(await cached()).toEqual([keep.id, doomed.id]);

    // Google forgets our sync token; meanwhile an event goes away without any push reaching us.
    t.google.faults.invalidateSyncTokens(host.calendarId);
    t.google.faults.dropNextPushes(2);
    t.google.deleteEvent(host.calendarId, doomed.id);
    const added = t.google.createEvent(host.calendarId, {
      summary: 'new',
      start: { dateTime: slot(3).startTime },
      end: { dateTime: slot(3).endTime },
    });
    await afterPush(t, () => t.google.updateEvent(host.calendarId, keep.id, { summary: 'kept' }));
    await expectEventually(async () => expect(await cached()).toEqual([keep.id, added.id]));
    const errors = await calendarRow(host.credentialId, host.calendarId);
    expect(errors.syncErrorCount).toBe(0);
  });
});
