import pg from 'pg';
import { TEST_MICROSOFT_CLIENT_STATE, type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectConsistently, expectEventually } from '../support/expect-eventually.js';
import { type Host, connectOutlookHost, slot } from '../support/fixtures.js';
import {
  afterNotification,
  bookAndSettle,
  enableFlagForUser,
  getBooking,
  runTask,
  shifted,
  waitForQueueIdle,
} from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';
const CACHE = 'calendar-subscription-cache';
const WEBHOOK = '/api/webhooks/calendar-subscription/office365_calendar';
const LIFECYCLE = `${WEBHOOK}/lifecycle`;
/** Outlook event subscriptions live at most 10,080 minutes; calsync asks for at most 10,070. */
const MAX_MINUTES = 10_070;

interface SyncState {
  id: number;
  externalId: string;
  channelId: string | null;
  channelExpiration: string | null;
  syncSubscribedAt: string | null;
  syncedAt: string | null;
}

/** A change notification as Graph sends it (one item of `value`). */
function changeItem(subscriptionId: string, overrides: Record<string, unknown> = {}) {
  return {
    subscriptionId,
    subscriptionExpirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
    changeType: 'updated',
    clientState: TEST_MICROSOFT_CLIENT_STATE,
    tenantId: '00000000-0000-0000-0000-000000000000',
    resource: 'Users/u/Events/e',
    resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': 'Users/u/Events/e', id: 'e' },
    ...overrides,
  };
}

describe('Outlook subscriptions and Graph notification intake', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => t.microsoft.faults.clear());

  /** Select a calendar of the host for busy times. */
  const select = async (host: Host, externalId = host.calendarId): Promise<number> =>
    (
      await t.api
        .post(`/api/v1/users/${host.userId}/selected-calendars`)
        .send({ credentialId: host.credentialId, externalId })
        .expect(201)
    ).body.id as number;

  /** A host whose default calendar is selected and cached (the cache flag on): the calendar is watched. */
  async function cachedHost(): Promise<Host & { selectedId: number }> {
    const host = await connectOutlookHost(t, { destination: false });
    await enableFlagForUser(t, CACHE, host.userId);
    return { ...host, selectedId: await select(host) };
  }

  const syncState = async (userId: number, externalId: string): Promise<SyncState> => {
    const list = await t.api.get(`/api/v1/users/${userId}/selected-calendars`).expect(200);
    const found = (list.body as SyncState[]).find((c) => c.externalId === externalId);
    if (!found) throw new Error(`calendar ${externalId} is not selected by user ${userId}`);
    return found;
  };

  const storedChannel = async (credentialId: number, externalId: string): Promise<string | null> => {
    const rows: Array<{ channelId: string | null }> = await t.dataSource.query(
      `SELECT "channelId" FROM "SelectedCalendar" WHERE "credentialId" = $1 AND "externalId" = $2`,
      [credentialId, externalId],
    );
    return rows[0]?.channelId ?? null;
  };

  /** The live Graph subscriptions watching a calendar. */
  const liveSubscriptions = (calendarId: string) =>
    t.microsoft.subscriptions().filter((s) => !s.expired && s.calendarIds.includes(calendarId));

  /** The calendars with a sync job waiting or running (each calendar's syncs run in its own queue). */
  const queuedSyncs = async (): Promise<number[]> =>
    (
      (await t.dataSource.query(
        `SELECT queue_name FROM graphile_worker.jobs WHERE task_identifier = 'sync-calendar' ORDER BY id`,
      )) as Array<{ queue_name: string }>
    ).map((r) => Number(r.queue_name.replace(/^calendar:/, '')));

  const dbNow = async (): Promise<Date> => ((await t.dataSource.query('SELECT now() AS now')) as Array<{ now: Date }>)[0].now;
  /** Jobs of any kind queued since `since` (still waiting, running or failed). */
  const jobsSince = async (since: Date): Promise<number> =>
    Number(
      (
        (await t.dataSource.query(`SELECT count(*)::text AS count FROM graphile_worker.jobs WHERE created_at >= $1`, [
          since,
        ])) as Array<{ count: string }>
      )[0].count,
    );

  const cachedIds = async (selectedId: number): Promise<string[]> =>
    (
      (await t.dataSource.query(`SELECT "externalId" FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [
        selectedId,
      ])) as Array<{ externalId: string }>
    ).map((r) => r.externalId);

  /** A subscribed host whose catch-up sync is done. */
  async function subscribed<H extends Host>(host: H): Promise<H & { subscriptionId: string }> {
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const subs = liveSubscriptions(host.calendarId);
    expect(subs).toHaveLength(1);
    return { ...host, subscriptionId: subs[0].id };
  }

  it('subscribes each needed calendar once, with our URLs, clientState and the longest lifetime Outlook allows', async () => {
    const syncUser = await connectOutlookHost(t);
    await enableFlagForUser(t, SYNC, syncUser.userId);
    await select(syncUser); // destination and selected: still one subscription
    const noFlags = await connectOutlookHost(t);
    const cacheUser = await cachedHost();
    const unselected = t.microsoft.addCalendar(cacheUser.email, { name: 'Not selected' });
    t.microsoft.resetNotificationLog();
    t.microsoft.resetCalls();

    const before = Date.now();
    const result = await runTask(t, 'subscribe-calendars');
    const after = Date.now();
    expect(result).toMatchObject({ watched: 2, renewed: 0, failed: 0 });
    expect(liveSubscriptions(noFlags.calendarId)).toHaveLength(0);
    expect(liveSubscriptions(unselected.id)).toHaveLength(0);
    expect(t.microsoft.callCount('subscriptions.create')).toBe(2);

    const webhookUrl = `${t.config.microsoft.webhookUrl}${WEBHOOK}`;
    expect(t.config.microsoft.webhookUrl).toBe(t.baseUrl); // MICROSOFT_WEBHOOK_URL defaults to APP_URL
    for (const host of [syncUser, cacheUser]) {
      const subs = liveSubscriptions(host.calendarId);
      expect(subs).toHaveLength(1);
      const sub = subs[0];
      expect(sub.clientState).toBe(TEST_MICROSOFT_CLIENT_STATE);
      expect(sub.notificationUrl).toBe(webhookUrl);
      expect(sub.lifecycleNotificationUrl).toBe(`${webhookUrl}/lifecycle`);
      expect(sub.email).toBe(host.email);
      expect(decodeURIComponent(sub.resource)).toBe(`/me/calendars/${host.calendarId}/events`);
      expect(sub.calendarIds).toEqual([host.calendarId]);
      expect(sub.changeType.split(',').sort()).toEqual(['created', 'deleted', 'updated']);
      const expiration = Date.parse(sub.expirationDateTime);
      expect(expiration).toBeLessThanOrEqual(after + MAX_MINUTES * 60_000);
      expect(expiration).toBeGreaterThan(before + (MAX_MINUTES - 5) * 60_000);

      // The sync state the API reports is the subscription's.
      const state = await syncState(host.userId, host.calendarId);
      expect(state.channelId).toBe(sub.id);
      expect(Math.abs(Date.parse(state.channelExpiration!) - expiration)).toBeLessThan(1000);
      expect(state.syncSubscribedAt).not.toBeNull();
    }
    // Graph validated both URLs of each subscription before creating it, and we answered.
    const validations = t.microsoft.notificationLog.filter((n) => n.kind === 'validation');
    expect(validations.map((v) => [v.url, v.status]).sort()).toEqual(
      [
        [webhookUrl, 200],
        [webhookUrl, 200],
        [`${webhookUrl}/lifecycle`, 200],
        [`${webhookUrl}/lifecycle`, 200],
      ].sort(),
    );

    await waitForQueueIdle(t);
    expect((await syncState(syncUser.userId, syncUser.calendarId)).syncedAt).not.toBeNull();
    // A second run changes nothing.
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ watched: 0, renewed: 0, stopped: 0, failed: 0 });
    expect(t.microsoft.callCount('subscriptions.create')).toBe(2);
  });

  it.each([WEBHOOK, LIFECYCLE])('answers the validation handshake on %s with the decoded token as text/plain', async (path) => {
    const res = await t.http.post(`${path}?validationToken=a%20b%2Bc`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    // The token is whatever the caller sent: never to be sniffed as HTML by a browser.
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).toBe('a b+c');
    const plus = await t.http.post(`${path}?validationToken=Validation%3A+Testing+client`).expect(200);
    expect(plus.text).toBe('Validation: Testing client');
    // As Graph sends it: text/plain, an empty body, Graph's sentence as the token.
    const token = 'Validation: Testing client application reachability for subscription Request-Id: 4f0f6e3c-9c1a-4ad1-8e8a-1f2e';
    const graphLike = await t.http
      .post(`${path}?validationToken=${encodeURIComponent(token)}`)
      .set('Content-Type', 'text/plain; charset=utf-8')
      .send('')
      .expect(200);
    expect(graphLike.headers['content-type']).toMatch(/^text\/plain/);
    expect(graphLike.text).toBe(token);
  });

  it('renews a subscription about to expire by PATCH, keeping its id; one further off is left alone', async () => {
    const due = await subscribed(await cachedHost());
    const later = await subscribed(await cachedHost());
    const dueBefore = liveSubscriptions(due.calendarId)[0];
    const laterBefore = liveSubscriptions(later.calendarId)[0];
    // Inside SUBSCRIPTION_RENEW_BEFORE_SECONDS (a day by default).
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "channelExpiration" = now() + interval '2 hours' WHERE "channelId" = $1`,
      [due.subscriptionId],
    );
    t.microsoft.resetCalls();

    const result = await runTask(t, 'subscribe-calendars');
    expect(result).toMatchObject({ renewed: 1, watched: 0, failed: 0 });
    expect(t.microsoft.callCount('subscriptions.create')).toBe(0);
    const patches = t.microsoft.calls.filter((c) => c.operation === 'subscriptions.update');
    expect(patches.map((c) => [c.method, c.path, c.status])).toEqual([
      ['PATCH', `/v1.0/subscriptions/${due.subscriptionId}`, 200],
    ]);

    const dueAfter = liveSubscriptions(due.calendarId);
    expect(dueAfter.map((s) => s.id)).toEqual([due.subscriptionId]);
    expect(Date.parse(dueAfter[0].expirationDateTime)).toBeGreaterThan(Date.parse(dueBefore.expirationDateTime));
    const state = await syncState(due.userId, due.calendarId);
    expect(state.channelId).toBe(due.subscriptionId);
    expect(Date.parse(state.channelExpiration!)).toBeGreaterThan(Date.now() + 6 * 86_400_000);

    expect(liveSubscriptions(later.calendarId)).toEqual([laterBefore]);
    expect((await syncState(later.userId, later.calendarId)).channelId).toBe(later.subscriptionId);
  });

  it('replaces a subscription Graph no longer knows when it comes to renew it', async () => {
    const host = await subscribed(await cachedHost());
    t.microsoft.expireSubscription(host.subscriptionId); // gone early on Graph's side
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "channelExpiration" = now() + interval '2 hours' WHERE "channelId" = $1`,
      [host.subscriptionId],
    );
    t.microsoft.resetCalls();
    const result = await runTask(t, 'subscribe-calendars');
    expect(result).toMatchObject({ failed: 0 });
    expect(result.renewed + result.watched).toBe(1);
    expect(t.microsoft.calls.filter((c) => c.operation === 'subscriptions.update').map((c) => c.status)).toEqual([404]);
    const live = liveSubscriptions(host.calendarId);
    expect(live).toHaveLength(1);
    expect(live[0].id).not.toBe(host.subscriptionId);
    expect((await syncState(host.userId, host.calendarId)).channelId).toBe(live[0].id);
    await waitForQueueIdle(t);

    // Changes flow through the new subscription.
    await afterNotification(t, () =>
      t.microsoft.createEvent(host.calendarId, {
        subject: 'after renewal',
        start: { dateTime: slot(2).startTime, timeZone: 'UTC' },
        end: { dateTime: slot(2).endTime, timeZone: 'UTC' },
      }),
    );
    await expectEventually(async () => expect(await cachedIds(host.selectedId)).toHaveLength(1));
  });

  it('answers a notification 202 only once its sync is durably queued', async () => {
    const host = await subscribed(await cachedHost());
    const deltas = t.microsoft.callCount('calendarView.delta', host.calendarId);
    // Nothing can be queued while another transaction holds the job table.
    const blocker = new pg.Client({ connectionString: t.db.url });
    await blocker.connect();
    let answered = false;
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE graphile_worker._private_jobs IN EXCLUSIVE MODE');
      const pending = t.http
        .post(WEBHOOK)
        .send({ value: [changeItem(host.subscriptionId)] })
        .then((res) => {
          answered = true;
          return res;
        });
      await expectConsistently(() => expect(answered).toBe(false), { durationMs: 400 });
      // Hold the sync in Graph, so its job is still there when we look.
      t.microsoft.faults.slowNext({ operation: 'calendarView.delta', ms: 2500 });
      await blocker.query('COMMIT');
      const res = await pending;
      expect(res.status).toBe(202);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ result: 'accepted' });
      expect(await queuedSyncs()).toEqual([host.selectedId]);
    } finally {
      await blocker.end();
    }
    await waitForQueueIdle(t);
    expect(t.microsoft.callCount('calendarView.delta', host.calendarId)).toBe(deltas + 1);
  });

  it('queues one sync per calendar for a batch of notifications for several subscriptions', async () => {
    const first = await cachedHost();
    const second = t.microsoft.addCalendar(first.email, { name: 'Second' });
    const secondSelected = await select(first, second.id);
    const other = await cachedHost();
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const calendars = [
      { calendarId: first.calendarId, selectedId: first.selectedId },
      { calendarId: second.id, selectedId: secondSelected },
      { calendarId: other.calendarId, selectedId: other.selectedId },
    ].map((c) => ({ ...c, subscriptionId: liveSubscriptions(c.calendarId)[0].id }));
    const deltas = calendars.map((c) => t.microsoft.callCount('calendarView.delta', c.calendarId));
    t.microsoft.faults.slowNext({ operation: 'calendarView.delta', ms: 2500, count: 3 });

    // Ten items: four, three and three for the three subscriptions, interleaved as Graph batches them.
    const value = Array.from({ length: 10 }, (_, i) => changeItem(calendars[i % 3].subscriptionId));
    const res = await t.http.post(WEBHOOK).send({ value }).expect(202);
    expect(res.body.results).toHaveLength(10);
    expect(new Set(res.body.results)).toEqual(new Set(['accepted']));
    const queued = (await queuedSyncs()).sort((a, b) => a - b);
    expect(queued).toEqual(calendars.map((c) => c.selectedId).sort((a, b) => a - b));
    await waitForQueueIdle(t);
    expect(calendars.map((c) => t.microsoft.callCount('calendarView.delta', c.calendarId))).toEqual(deltas.map((n) => n + 1));
  });

  it('refuses a batch in which any item carries a wrong or no clientState, and queues nothing', async () => {
    const a = await subscribed(await cachedHost());
    const b = await subscribed(await cachedHost());
    const since = await dbNow();
    const metricsBefore = await t.http.get('/metrics').expect(200);
    const forbiddenBefore = Number(
      /calsync_notifications_received_total\{provider="office365_calendar",result="forbidden"\} (\d+)/.exec(
        metricsBefore.text,
      )?.[1] ?? 0,
    );
    const good = [changeItem(a.subscriptionId), changeItem(b.subscriptionId), changeItem(a.subscriptionId)];
    const forged = await t.http
      .post(WEBHOOK)
      .send({ value: [...good, changeItem(b.subscriptionId, { clientState: 'forged' })] })
      .expect(403);
    expect(forged.body.detail).toBe('Invalid channel token');
    const { clientState: _dropped, ...withoutState } = changeItem(b.subscriptionId);
    await t.http
      .post(WEBHOOK)
      .send({ value: [withoutState, ...good] })
      .expect(403);
    await t.http
      .post(WEBHOOK)
      .send({ value: [changeItem(a.subscriptionId, { clientState: `${TEST_MICROSOFT_CLIENT_STATE}x` })] })
      .expect(403);
    // No notification at all: nothing forged, nothing to do (202, no results).
    const empty = await t.http.post(WEBHOOK).send({ value: [] }).expect(202);
    expect(empty.body).toEqual({ results: [] });
    expect(await jobsSince(since)).toBe(0);
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toContain(
      `calsync_notifications_received_total{provider="office365_calendar",result="forbidden"} ${forbiddenBefore + 3}`,
    );
  });

  it('answers 202 to a notification for an unknown subscription and does nothing', async () => {
    const since = await dbNow();
    const res = await t.http
      .post(WEBHOOK)
      .send({ value: [changeItem('00000000-1111-2222-3333-444444444444')] })
      .expect(202);
    expect(res.body).toEqual({ result: 'unknown_channel' });
    expect(await jobsSince(since)).toBe(0);
  });

  it('rejects requests that are no Graph notifications with 400, and unknown providers with 404', async () => {
    const since = await dbNow();
    const malformed = await t.http.post(WEBHOOK).set('Content-Type', 'application/json').send('{"value": [').expect(400);
    expect(JSON.stringify(malformed.body)).toMatch(/JSON/);
    const noValue = await t.http.post(WEBHOOK).send({ items: [] }).expect(400);
    expect(noValue.body.detail).toMatch(/"value" array/);
    const valueNotArray = await t.http
      .post(WEBHOOK)
      .send({ value: { subscriptionId: 'x' } })
      .expect(400);
    expect(valueNotArray.body.detail).toMatch(/"value" array/);
    for (const body of ['[1, 2]', '"text"', '42', 'null']) {
      const res = await t.http.post(WEBHOOK).set('Content-Type', 'application/json').send(body).expect(400);
      expect(res.body.detail).toMatch(/JSON object/);
    }
    await t.http.post(LIFECYCLE).send({ value: 'x' }).expect(400);
    const itemNotObject = await t.http
      .post(WEBHOOK)
      .send({ value: ['x'] })
      .expect(400);
    expect(itemNotObject.body.detail).toMatch(/not an object/);
    expect(await jobsSince(since)).toBe(0);

    const unknown = await t.http.post('/api/webhooks/calendar-subscription/yahoo_calendar').send({ value: [] }).expect(404);
    // The webhook routes are plain Fastify routes (webhooks.controller.ts): their errors still come
    // as the global filter's problem+json, under the request id the answer carries.
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(unknown.body).toMatchObject({
      status: 404,
      code: 'not_found',
      detail: 'No provider "yahoo_calendar" in this deployment',
      requestId: unknown.headers['x-request-id'],
    });
    await t.http.post('/api/webhooks/calendar-subscription/yahoo_calendar/lifecycle').send({ value: [] }).expect(404);
    await t.http.post('/api/webhooks/calendar-subscription/yahoo_calendar?validationToken=abc').expect(404);
  });

  it('reauthorizes a subscription when Graph asks for it, and renews it', async () => {
    const host = await subscribed(await cachedHost());
    const before = liveSubscriptions(host.calendarId)[0];
    t.microsoft.resetCalls();
    expect(await t.microsoft.sendLifecycle(host.subscriptionId, 'reauthorizationRequired')).toBe(202);
    await expectEventually(() =>
      expect(t.microsoft.subscriptions().find((s) => s.id === host.subscriptionId)?.needsReauthorization).toBe(false),
    );
    await expectEventually(() =>
      expect(t.microsoft.calls.map((c) => `${c.operation} ${c.path} ${c.status}`)).toEqual(
        expect.arrayContaining([
          `subscriptions.reauthorize /v1.0/subscriptions/${host.subscriptionId}/reauthorize 204`,
          `subscriptions.update /v1.0/subscriptions/${host.subscriptionId} 200`,
        ]),
      ),
    );
    const ops = t.microsoft.calls.map((c) => c.operation).filter((o) => o.startsWith('subscriptions.'));
    expect(ops.indexOf('subscriptions.reauthorize')).toBeLessThan(ops.indexOf('subscriptions.update'));
    expect(ops).not.toContain('subscriptions.create');
    const after = liveSubscriptions(host.calendarId);
    expect(after.map((s) => s.id)).toEqual([host.subscriptionId]);
    expect(Date.parse(after[0].expirationDateTime)).toBeGreaterThanOrEqual(Date.parse(before.expirationDateTime));
    expect((await syncState(host.userId, host.calendarId)).channelId).toBe(host.subscriptionId);
  });

  it('opens and stores a new subscription when Graph removed one, and changes keep flowing', async () => {
    const host = await connectOutlookHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    const { subscriptionId } = await subscribed(host);
    const booking = await bookAndSettle(t, host, 3);

    expect(await t.microsoft.sendLifecycle(subscriptionId, 'subscriptionRemoved')).toBe(202);
    const replacement = await expectEventually(async () => {
      const stored = await storedChannel(host.credentialId, host.calendarId);
      expect(stored).not.toBeNull();
      expect(stored).not.toBe(subscriptionId);
      return stored as string;
    });
    expect(liveSubscriptions(host.calendarId).map((s) => s.id)).toEqual([replacement]);
    await waitForQueueIdle(t);

    // The host drags the event two hours later in Outlook: the booking follows.
    const startTime = shifted(booking.startTime, 120);
    const endTime = shifted(booking.endTime, 120);
    await afterNotification(t, () =>
      t.microsoft.updateEvent(booking.eventId, {
        start: { dateTime: startTime, timeZone: 'UTC' },
        end: { dateTime: endTime, timeZone: 'UTC' },
      }),
    );
    await expectEventually(async () => {
      const view = await getBooking(t, booking.id);
      expect(view).toMatchObject({ status: 'accepted', startTime, endTime });
      expect(view.history.at(-1)).toMatchObject({ action: 'rescheduled', source: 'office365_calendar' });
    });
  });

  it('a removed subscription whose recreate fails counts as lapsed, so the minute’s subscribe opens one once Graph answers', async () => {
    const host = await connectOutlookHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    const { subscriptionId } = await subscribed(host);
    const row = async () =>
      (
        (await t.dataSource.query(
          `SELECT "id", "channelId", "channelExpiration" <= now() AS lapsed, "lastError" FROM "SelectedCalendar"
            WHERE "credentialId" = $1 AND "externalId" = $2`,
          [host.credentialId, host.calendarId],
        )) as Array<{ id: number; channelId: string; lapsed: boolean; lastError: string | null }>
      )[0];
    expect(await row()).toMatchObject({ channelId: subscriptionId, lapsed: false });

    // Graph removes the subscription and refuses to create another for longer than the life-cycle
    // job tries (cut short here: its retry is removed once the first attempt has failed).
    t.microsoft.faults.failNext({ count: 100, operation: 'subscriptions.create', status: 503 });
    expect(await t.microsoft.sendLifecycle(subscriptionId, 'subscriptionRemoved')).toBe(202);
    await expectEventually(async () => expect((await row()).lastError).toMatch(/subscribe failed/));
    expect(await row()).toMatchObject({ channelId: subscriptionId, lapsed: true });
    await t.dataSource.query(`SELECT graphile_worker.remove_job($1)`, [`channel-lifecycle:${(await row()).id}`]);
    t.microsoft.faults.clear();

    // Once the backoff is over, the minute's run opens a new subscription.
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "nextSubscribeAttemptAt" = now() - interval '1 second' WHERE "id" = $1`,
      [(await row()).id],
    );
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ watched: 1 });
    const renewed = await row();
    expect(renewed.channelId).not.toBe(subscriptionId);
    expect(renewed.lapsed).toBe(false);
    expect(liveSubscriptions(host.calendarId).map((sub) => sub.id)).toEqual([renewed.channelId]);
  });

  it('a subscription whose create answer was lost is taken over by the next attempt, not doubled, and notifies', async () => {
    const host = await cachedHost();
    const row = async () =>
      (
        (await t.dataSource.query(
          `SELECT "id", "channelId", "lastError" FROM "SelectedCalendar" WHERE "credentialId" = $1 AND "externalId" = $2`,
          [host.credentialId, host.calendarId],
        )) as Array<{ id: number; channelId: string | null; lastError: string | null }>
      )[0];
    // Graph makes the subscription but the answer is a gateway's 502, and the look that follows is
    // refused: calsync does not know the subscription, and does not make a second one.
    const creates = t.microsoft.callCount('subscriptions.create');
    t.microsoft.faults.failNext({ operation: 'subscriptions.create', status: 502, afterEffect: true });
    t.microsoft.faults.failNext({ operation: 'subscriptions.list', status: 403 });
    await runTask(t, 'subscribe-calendars');
    expect(await row()).toMatchObject({ channelId: null, lastError: expect.stringMatching(/subscribe failed/) });
    const [orphan] = liveSubscriptions(host.calendarId);
    expect(liveSubscriptions(host.calendarId)).toHaveLength(1);

    // After the backoff, the next run finds it and stores it: still one subscription, one create in all.
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "nextSubscribeAttemptAt" = now() - interval '1 second' WHERE "id" = $1`,
      [(await row()).id],
    );
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ watched: 1 });
    await waitForQueueIdle(t);
    expect(await row()).toMatchObject({ channelId: orphan.id, lastError: null });
    expect(liveSubscriptions(host.calendarId).map((s) => s.id)).toEqual([orphan.id]);
    expect(t.microsoft.callCount('subscriptions.create') - creates).toBe(1);

    // Its notifications are calsync's now: a new event reaches the cache.
    const made = t.microsoft.createEvent(host.calendarId, {
      subject: 'after the takeover',
      start: { dateTime: slot(5).startTime, timeZone: 'UTC' },
      end: { dateTime: slot(5).endTime, timeZone: 'UTC' },
    });
    await expectEventually(async () => expect(await cachedIds(host.selectedId)).toContain(made.id));
  });

  it('resyncs when Graph says notifications were missed', async () => {
    const host = await subscribed(await cachedHost());
    const before = t.microsoft.notificationLog.length;
    t.microsoft.faults.dropNextNotifications(10, host.subscriptionId);
    const missed = t.microsoft.createEvent(host.calendarId, {
      subject: 'made while notifications were dropped',
      start: { dateTime: slot(4).startTime, timeZone: 'UTC' },
      end: { dateTime: slot(4).endTime, timeZone: 'UTC' },
    });
    await expectEventually(() =>
      expect(t.microsoft.notificationLog.slice(before).some((n) => n.kind === 'notification' && n.status === 'dropped')).toBe(
        true,
      ),
    );
    await waitForQueueIdle(t);
    expect(await cachedIds(host.selectedId)).toEqual([]);

    t.microsoft.faults.clear();
    expect(await t.microsoft.sendLifecycle(host.subscriptionId, 'missed')).toBe(202);
    await waitForQueueIdle(t);
    expect(await cachedIds(host.selectedId)).toEqual([missed.id]);
  });

  it('refuses a lifecycle notification with a wrong clientState and changes nothing', async () => {
    const host = await subscribed(await cachedHost());
    const since = await dbNow();
    for (const lifecycleEvent of ['subscriptionRemoved', 'reauthorizationRequired', 'missed']) {
      const res = await t.http
        .post(LIFECYCLE)
        .send({
          value: [
            {
              subscriptionId: host.subscriptionId,
              subscriptionExpirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
              tenantId: t.microsoft.tenantId,
              clientState: 'forged',
              lifecycleEvent,
            },
          ],
        })
        .expect(403);
      expect(res.body.detail).toBe('Invalid channel token');
    }
    expect(await jobsSince(since)).toBe(0);
    expect(await storedChannel(host.credentialId, host.calendarId)).toBe(host.subscriptionId);
  });

  it('stores office365_calendar credentials and lists the account’s Outlook calendars', async () => {
    const email = `outlook.calendars.${process.pid}@example.com`;
    const account = t.microsoft.addAccount({ email });
    const extra = t.microsoft.addCalendar(email, { name: 'Team' });
    const user = await t.api.post('/api/v1/users').send({ email, timeZone: 'UTC' }).expect(201);
    const credential = await t.api
      .post(`/api/v1/users/${user.body.id}/credentials`)
      .send({
        provider: 'office365_calendar',
        accessToken: account.accessToken,
        refreshToken: account.refreshToken,
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      })
      .expect(201);
    expect(credential.body).toMatchObject({ provider: 'office365_calendar', status: 'active' });
    expect(JSON.stringify(credential.body)).not.toMatch(/token/i);
    const calendars = await t.api.get(`/api/v1/users/${user.body.id}/credentials/${credential.body.id}/calendars`).expect(200);
    expect(calendars.body).toEqual([
      expect.objectContaining({ id: account.calendarId, name: 'Calendar', primary: true }),
      expect.objectContaining({ id: extra.id, name: 'Team', primary: false }),
    ]);
  });

  // Connecting Outlook through OAuth: test/e2e/oauth-host-flow.e2e-spec.ts (both providers).

  it('marks an Outlook credential invalid when access was revoked, and drops its subscription without calling Graph with it', async () => {
    const host = await connectOutlookHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await select(host);
    const { subscriptionId } = await subscribed(host);
    expect((await syncState(host.userId, host.calendarId)).channelId).toBe(subscriptionId);

    t.microsoft.revokeRefreshToken(host.refreshToken);
    t.microsoft.expireAccessTokens();
    const res = await t.api.get(`/api/v1/users/${host.userId}/credentials/${host.credentialId}/calendars`).expect(409);
    expect(res.body.detail).toMatch(/revoked access|no longer valid/);
    const list = await t.api.get(`/api/v1/users/${host.userId}/credentials`).expect(200);
    expect(list.body).toEqual([expect.objectContaining({ id: host.credentialId, status: 'invalid' })]);

    t.microsoft.resetCalls();
    const result = await runTask(t, 'subscribe-calendars');
    expect(result.stopped).toBe(1);
    const state = await syncState(host.userId, host.calendarId);
    expect(state).toMatchObject({ channelId: null, channelExpiration: null });
    // Neither a refresh with the revoked token nor a DELETE with it: the subscription lapses by itself.
    expect(t.microsoft.calls.map((c) => c.operation)).toEqual([]);
  });

  it('removing a selected Outlook calendar deletes its subscription and drops its cached events', async () => {
    const host = await cachedHost();
    t.microsoft.createEvent(host.calendarId, {
      subject: 'cached',
      start: { dateTime: slot(1).startTime, timeZone: 'UTC' },
      end: { dateTime: slot(1).endTime, timeZone: 'UTC' },
    });
    const { subscriptionId } = await subscribed(host);
    expect(await cachedIds(host.selectedId)).toHaveLength(1);

    await t.api.delete(`/api/v1/users/${host.userId}/selected-calendars/${host.selectedId}`).expect(204);
    expect(await cachedIds(host.selectedId)).toEqual([]);
    await expectEventually(() => expect(t.microsoft.subscriptions().find((s) => s.id === subscriptionId)).toBeUndefined());
    expect(
      t.microsoft.calls
        .filter((c) => c.operation === 'subscriptions.delete')
        .map((c) => [c.path, c.status])
        .at(-1),
    ).toEqual([`/v1.0/subscriptions/${subscriptionId}`, 204]);
  });
});
