import { TEST_WEBHOOK_TOKEN, type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectConsistently, expectEventually } from '../support/expect-eventually.js';
import { type Host, connectGoogleHost } from '../support/fixtures.js';
import {
  afterPush,
  bookAndSettle,
  enableFlagForUser,
  getBooking,
  runTask,
  shifted,
  liftSyncHold,
  syncHold,
  waitForQueueIdle,
} from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';

describe('Google → bookings: changes made in Google Calendar reach the booking exactly once', () => {
  let t: TestApp;
  let host: Host;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    t.google.faults.clear();
    host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
  });

  const googleHistory = async (bookingId: number) =>
    (await getBooking(t, bookingId)).history.filter((h) => h.source === 'google_calendar');

  it('moving the event in Google reschedules the booking', async () => {
    const booking = await bookAndSettle(t, host);
    const start = shifted(booking.startTime, 120);
    const end = shifted(booking.endTime, 150);
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: start }, end: { dateTime: end } }),
    );
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'google_calendar'],
    ]);
    expect(after.history[1].changes).toEqual({
      from: { startTime: booking.startTime, endTime: booking.endTime },
      to: { startTime: start, endTime: end },
    });
  });

  it('deleting the event in Google cancels the booking', async () => {
    const booking = await bookAndSettle(t, host);
    await afterPush(t, () => t.google.deleteEvent(host.calendarId, booking.eventId));
    const after = await getBooking(t, booking.id);
    expect(after.status).toBe('cancelled');
    expect(after.cancellationReason).toBe('The event was deleted in Google Calendar');
    expect(after.history.at(-1)).toMatchObject({ action: 'cancelled', source: 'google_calendar' });
  });

  it('renaming, re-describing and relocating the event updates the booking', async () => {
    const booking = await bookAndSettle(t, host);
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, {
        summary: 'Renamed',
        description: 'New agenda',
        location: 'Room 4',
      }),
    );
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ title: 'Renamed', description: 'New agenda', location: 'Room 4', status: 'accepted' });
    expect(after.history.at(-1)).toMatchObject({
      action: 'updated',
      source: 'google_calendar',
      changes: { title: { from: 'Sync test', to: 'Renamed' } },
    });
  });

  it('guests added and removed in Google update the booking’s attendees', async () => {
    const booking = await bookAndSettle(t, host);
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, {
        attendees: [{ email: 'new.guest@example.com', displayName: 'New Guest' }],
      }),
    );
    const after = await getBooking(t, booking.id);
    expect(after.attendees).toEqual([{ email: 'new.guest@example.com', name: 'New Guest' }]);
    expect(after.history.at(-1)?.changes).toEqual({
      attendees: { added: ['new.guest@example.com'], removed: ['guest@example.com'] },
    });
  });

  it('a booking that already ended is never changed', async () => {
    // The API refuses bookings in the past, so this one is a second long and ends right away.
    const startMs = Date.now() + 1000;
    const start = new Date(startMs).toISOString();
    const end = new Date(startMs + 1000).toISOString();
    const res = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Yesterday', startTime: start, endTime: end, attendees: [] })
      .expect(201);
    const eventId = await expectEventually(async () => (await getBooking(t, res.body.id)).references[0].externalEventId);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startMs + 1100 - Date.now())));
    await waitForQueueIdle(t);
    await afterPush(t, () => t.google.deleteEvent(host.calendarId, eventId));
    const after = await getBooking(t, res.body.id);
    expect(after.status).toBe('accepted');
    expect(after.history).toHaveLength(1);
  });

  it('a move into the past is ignored', async () => {
    const booking = await bookAndSettle(t, host);
    const start = new Date(Date.now() - 5 * 3600_000).toISOString();
    const end = new Date(Date.now() - 4 * 3600_000).toISOString();
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: start }, end: { dateTime: end } }),
    );
    const after = await getBooking(t, booking.id);
    expect(after.startTime).toBe(booking.startTime);
    expect(after.history).toHaveLength(1);
  });

  it('a reschedule from the API keeps the guests’ answers and the room the host booked', async () => {
    const booking = await bookAndSettle(t, host);
    // The guest accepts, and the host books a room in Google: neither changes the booking.
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, {
        attendees: [
          { email: 'guest@example.com', displayName: 'Guest', responseStatus: 'accepted' },
          { email: 'room-4@resource.example.com', displayName: 'Room 4', resource: true, responseStatus: 'accepted' },
        ],
      }),
    );
    const start = shifted(booking.startTime, 90);
    const end = shifted(booking.endTime, 90);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: start, endTime: end }).expect(200);
    await expectEventually(() =>
      expect(new Date(t.google.getEvent(host.calendarId, booking.eventId)?.start?.dateTime ?? 0).toISOString()).toBe(start),
    );
    await waitForQueueIdle(t);
    const attendees = t.google.getEvent(host.calendarId, booking.eventId)?.attendees ?? [];
    expect(attendees.map((a) => [a.email, a.responseStatus, Boolean(a.resource)])).toEqual([
      ['guest@example.com', 'accepted', false],
      ['room-4@resource.example.com', 'accepted', true],
    ]);
    expect((await getBooking(t, booking.id)).attendees).toEqual([{ email: 'guest@example.com', name: 'Guest' }]);
  });

  it('the echo of our own reschedule changes nothing more', async () => {
    const booking = await bookAndSettle(t, host);
    const start = shifted(booking.startTime, 60);
    const end = shifted(booking.endTime, 60);
    const listsBefore = t.google.callCount('events.list', host.calendarId);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: start, endTime: end }).expect(200);
    // The patch lands in Google, Google pushes, calsync pulls the echo.
    await expectEventually(() => expect(t.google.callCount('events.list', host.calendarId)).toBeGreaterThan(listsBefore));
    await waitForQueueIdle(t);
    const after = await getBooking(t, booking.id);
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'api'],
    ]);
    expect(after).toMatchObject({ startTime: start, endTime: end });
  });

  it('the same change pushed three times, and once more on a superseded channel, applies once', async () => {
    const booking = await bookAndSettle(t, host);
    const oldChannel = t.google.liveChannels(host.calendarId)[0].id;
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "channelExpiration" = now() + interval '1 hour' WHERE "channelId" = $1`,
      [oldChannel],
    );
    const renewal = await runTask(t, 'subscribe-calendars');
    expect(renewal.renewed).toBe(1);
    await waitForQueueIdle(t);
    const start = shifted(booking.startTime, 30);
    const end = shifted(booking.endTime, 30);
    t.google.faults.duplicateNextPushes(1, 3);
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: start }, end: { dateTime: end } }),
    );
    expect(await t.google.sendPush(oldChannel, 'exists', { token: TEST_WEBHOOK_TOKEN })).toBe(200);
    await waitForQueueIdle(t);
    await expectConsistently(async () => {
      expect((await googleHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
    });
  });

  it('pushes delivered in reverse order converge to the latest state', async () => {
    const booking = await bookAndSettle(t, host);
    t.google.faults.holdPushes();
    t.google.updateEvent(host.calendarId, booking.eventId, { summary: 'First' });
    const finalStart = shifted(booking.startTime, 90);
    const finalEnd = shifted(booking.endTime, 90);
    t.google.updateEvent(host.calendarId, booking.eventId, {
      summary: 'Second',
      start: { dateTime: finalStart },
      end: { dateTime: finalEnd },
    });
    await t.google.faults.releasePushes({ reverse: true });
    await waitForQueueIdle(t);
    await expectEventually(async () => {
      expect(await getBooking(t, booking.id)).toMatchObject({ title: 'Second', startTime: finalStart, endTime: finalEnd });
    });
    expect((await googleHistory(booking.id)).filter((h) => h.action === 'rescheduled')).toHaveLength(1);
  });

  it('a dropped push is healed by the safety-net resync', async () => {
    const booking = await bookAndSettle(t, host);
    t.google.faults.dropNextPushes(1);
    const start = shifted(booking.startTime, 45);
    const end = shifted(booking.endTime, 45);
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: start }, end: { dateTime: end } }),
    );
    expect((await getBooking(t, booking.id)).startTime).toBe(booking.startTime);
    const result = await runTask(t, 'resync-calendars');
    expect(result.enqueued).toBeGreaterThanOrEqual(1);
    await waitForQueueIdle(t);
    expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end });
  });

  it('a full sync (expired token) still sees what became of bookings beyond its window: deleted, moved in time', async () => {
    // SYNC_WINDOW_DAYS is 92 here: a full listing covers the next 92 days only.
    const deleted = await bookAndSettle(t, host, 120);
    const moved = await bookAndSettle(t, host, 130);
    const near = await bookAndSettle(t, host, 5);
    // The pushes are lost and the sync token expires: the next sync lists the window afresh and
    // replaces the cursor, so changes the old one had not delivered come from nowhere else.
    t.google.faults.dropNextPushes(10);
    t.google.faults.invalidateSyncTokens(host.calendarId);
    t.google.deleteEvent(host.calendarId, deleted.eventId);
    t.google.deleteEvent(host.calendarId, near.eventId);
    const start = shifted(moved.startTime, 60);
    const end = shifted(moved.endTime, 60);
    t.google.updateEvent(host.calendarId, moved.eventId, { start: { dateTime: start }, end: { dateTime: end } });
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    expect((await getBooking(t, near.id)).status).toBe('cancelled');
    expect(await getBooking(t, deleted.id)).toMatchObject({ status: 'cancelled' });
    expect(await getBooking(t, moved.id)).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
    expect((await googleHistory(moved.id)).map((h) => h.action)).toEqual(['rescheduled']);
  });

  it('429 and 500 answers from Google are retried until the change lands', async () => {
    const booking = await bookAndSettle(t, host);
    t.google.faults.failNext({
      count: 2,
      operation: 'events.list',
      status: 429,
      reason: 'rateLimitExceeded',
      retryAfterSeconds: 0,
    });
    t.google.faults.failNext({ count: 1, operation: 'events.list', status: 500, reason: 'backendError' });
    const start = shifted(booking.startTime, 15);
    const end = shifted(booking.endTime, 15);
    t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: start }, end: { dateTime: end } });
    await expectEventually(
      async () => expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end }),
      {
        timeoutMs: 20_000,
      },
    );
  });

  it('a rate limit that outlasts the retries holds the calendar’s syncs for half a minute', async () => {
    const booking = await bookAndSettle(t, host);
    const listsBefore = t.google.callCount('events.list', host.calendarId);
    // Google's per-minute quota: every try of this sync's listing is refused, with no Retry-After.
    t.google.faults.failNext({ count: 4, operation: 'events.list', status: 403, reason: 'userRateLimitExceeded' });
    t.google.updateEvent(host.calendarId, booking.eventId, {
      start: { dateTime: shifted(booking.startTime, 15) },
      end: { dateTime: shifted(booking.endTime, 15) },
    });
    const row = () => syncHold(t, host);
    await expectEventually(async () => expect((await row()).syncErrorCount).toBe(1), { timeoutMs: 10_000 });
    const { waitSeconds } = await row();
    expect(waitSeconds).toBeGreaterThan(20);
    expect(waitSeconds).toBeLessThanOrEqual(30);
    expect(t.google.callCount('events.list', host.calendarId) - listsBefore).toBe(4);

    // Past the 5 s backoff, another change pushes: nothing is listed before the half minute.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    t.google.updateEvent(host.calendarId, booking.eventId, {
      start: { dateTime: shifted(booking.startTime, 30) },
      end: { dateTime: shifted(booking.endTime, 30) },
    });
    await expectConsistently(() => expect(t.google.callCount('events.list', host.calendarId) - listsBefore).toBe(4), {
      durationMs: 1_500,
    });
    // Once the wait is over (brought forward here), the next sync lands the change.
    await liftSyncHold(t, (await row()).id);
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    expect(await getBooking(t, booking.id)).toMatchObject({ startTime: shifted(booking.startTime, 30) });
  }, 30_000);

  it('an event the host moved to another of their calendars is not a cancellation', async () => {
    const booking = await bookAndSettle(t, host);
    const other = t.google.addCalendar(host.email, { summary: 'Work' });
    await afterPush(t, () => t.google.moveEvent(host.calendarId, booking.eventId, other.id));
    const after = await getBooking(t, booking.id);
    expect(after.status).toBe('accepted');
    expect(after.references[0].externalCalendarId).toBe(other.id);
    // The new home is followed too: a move there still reaches the booking.
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const start = shifted(booking.startTime, 240);
    const end = shifted(booking.endTime, 240);
    await afterPush(t, () =>
      t.google.updateEvent(other.id, booking.eventId, { start: { dateTime: start }, end: { dateTime: end } }),
    );
    expect(await getBooking(t, booking.id)).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
  });

  it('only the host’s own calendar can change the host’s booking', async () => {
    const booking = await bookAndSettle(t, host);
    const guest = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, guest.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const iCalUID = t.google.getEvent(host.calendarId, booking.eventId)!.iCalUID;
    const copy = t.google.createEvent(guest.calendarId, {
      iCalUID,
      summary: 'Sync test',
      start: { dateTime: booking.startTime },
      end: { dateTime: booking.endTime },
    });
    await waitForQueueIdle(t);
    await afterPush(t, () => t.google.deleteEvent(guest.calendarId, copy.id));
    await afterPush(t, () =>
      t.google.createEvent(guest.calendarId, {
        iCalUID,
        summary: 'Hijack',
        start: { dateTime: shifted(booking.startTime, 60) },
        end: { dateTime: shifted(booking.endTime, 60) },
      }),
    );
    expect(await getBooking(t, booking.id)).toMatchObject({
      status: 'accepted',
      title: 'Sync test',
      startTime: booking.startTime,
    });
  });

  it('a change recorded just before the process died (outbox row, command never ran) is applied by the safety net', async () => {
    const booking = await bookAndSettle(t, host);
    const start = shifted(booking.startTime, 45);
    const end = shifted(booking.endTime, 45);
    // What a sync leaves behind when the process dies between its commit and the saga: the
    // detected change in the outbox, not yet applied.
    await t.dataSource.query(
      `INSERT INTO "ExternalEventChange" ("bookingId", "source", "kind", "payload", "detectedAt")
       VALUES ($1, 'google_calendar', 'rescheduled', $2, clock_timestamp() - interval '1 minute')`,
      [booking.id, JSON.stringify({ startTime: start, endTime: end })],
    );
    const result = await runTask(t, 'resync-calendars');
    expect(result.replayedChanges).toBe(1);
    await expectEventually(async () => expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end }));
    const pending: Array<{ count: string }> = await t.dataSource.query(
      `SELECT count(*)::text AS count FROM "ExternalEventChange" WHERE "appliedAt" IS NULL`,
    );
    expect(pending[0].count).toBe('0');
    // Replayed again (a second instance, a retried task), it changes nothing more.
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    expect((await googleHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
  });

  it('a change stays durable across a restart between the push and the sync', async () => {
    const booking = await bookAndSettle(t, host);
    // Google keeps failing the pull, so the sync job is queued and retrying when the process goes down.
    t.google.faults.failNext({ count: 1000, operation: 'events.list', status: 503, reason: 'backendError' });
    const start = shifted(booking.startTime, 75);
    const end = shifted(booking.endTime, 75);
    const before = t.google.pushLog.length;
    t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: start }, end: { dateTime: end } });
    await expectEventually(() => expect(t.google.pushLog.slice(before).some((p) => p.status === 200)).toBe(true));
    await expectEventually(async () => {
      const rows: Array<{ attempts: number }> = await t.dataSource.query(
        `SELECT attempts FROM graphile_worker.jobs WHERE task_identifier = 'sync-calendar'`,
      );
      expect(rows.some((r) => r.attempts >= 1)).toBe(true);
    });
    await t.stop();
    t.google.faults.clear();
    await t.restart();
    await expectEventually(
      async () => expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end }),
      {
        timeoutMs: 20_000,
      },
    );
    expect((await googleHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
  }, 40_000);
});
