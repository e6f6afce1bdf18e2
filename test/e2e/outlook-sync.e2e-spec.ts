import { ExternalChangeRecorder, type SyncedCalendar } from '../../src/modules/bookings/external-change.recorder.js';
import { removedEvent } from '../../src/modules/providers/external-event.js';
import { SyncStateStore } from '../../src/modules/sync/index.js';
import { TEST_MICROSOFT_CLIENT_STATE, type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectConsistently, expectEventually } from '../support/expect-eventually.js';
import { type Host, connectOutlookHost, graphInstant, graphTimes, slot } from '../support/fixtures.js';
import {
  type SyncedBooking,
  afterNotification,
  bookAndSettle,
  enableFlagForUser,
  getBooking,
  runTask,
  liftSyncHold,
  settleNotifications,
  shifted,
  syncHold,
  waitForQueueIdle,
} from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';
const SOURCE = 'office365_calendar';
const DELTA = 'calendarView.delta';

/**
 * The Google suite's exactness rules, for Outlook: the same tests against the Graph emulator, with
 * the real Graph client. What Graph does differently is exercised too: notifications carry no data
 * and come 2–4 per edit, renewal PATCHes the same subscription, a move gives the event a new id,
 * and `@removed` in a delta does not say whether the event was deleted or only left the window.
 */
describe('Outlook → bookings: changes made in Outlook reach the booking exactly once', () => {
  let t: TestApp;
  let host: Host;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    t.microsoft.faults.clear();
    host = await connectOutlookHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
  });

  const outlookHistory = async (bookingId: number) => (await getBooking(t, bookingId)).history.filter((h) => h.source === SOURCE);

  /** Books through the API and waits until the event is in Outlook and its notifications (created, updated) were handled. */
  const book = async (daysAhead = 3, extra: Record<string, unknown> = {}): Promise<SyncedBooking> => {
    const booking = await bookAndSettle(t, host, daysAhead, extra);
    await settleNotifications(t);
    return booking;
  };

  /**
   * Moves the booking by `minutes` through the API; back, with the new times, once Outlook has the
   * new start (within `timeoutMs`) and its notifications are handled.
   */
  const rescheduleThroughApi = async (booking: SyncedBooking, minutes: number, timeoutMs?: number) => {
    const start = shifted(booking.startTime, minutes);
    const end = shifted(booking.endTime, minutes);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: start, endTime: end }).expect(200);
    await expectEventually(() => expect(graphInstant(t.microsoft.getEvent(booking.eventId)!.start.dateTime)).toBe(start), {
      timeoutMs,
    });
    await settleNotifications(t);
    return { start, end };
  };

  /** Runs `test` while this Exchange reads `windowsZone` with the rules of `rulesOf` (an IANA zone). */
  const withExchangeRules = async (windowsZone: string, rulesOf: string, test: () => Promise<void>) => {
    t.microsoft.exchangeZoneRules(windowsZone, rulesOf);
    try {
      await test();
    } finally {
      t.microsoft.exchangeZoneRules(windowsZone, null);
    }
  };

  /** The host's event updates Outlook answered with `status`. */
  const updatesAnswered = (status: number) =>
    t.microsoft.calls.filter((c) => c.email === host.email && c.operation === 'events.update' && c.status === status);

  /** The live subscription watching a calendar. */
  const subscriptionOf = (calendarId: string) => {
    const subs = t.microsoft.subscriptions().filter((s) => !s.expired && s.calendarIds.includes(calendarId));
    expect(subs).toHaveLength(1);
    return subs[0];
  };

  /** Delta calls of a calendar since `from` (an index into the call log). */
  const deltaCalls = (calendarId: string, from = 0) =>
    t.microsoft.calls.slice(from).filter((c) => c.operation === DELTA && c.calendarId === calendarId);

  it('moving the event in Outlook reschedules the booking', async () => {
    const booking = await book();
    const start = shifted(booking.startTime, 120);
    const end = shifted(booking.endTime, 150);
    await afterNotification(t, () => t.microsoft.updateEvent(booking.eventId, graphTimes(start, end)));
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', SOURCE],
    ]);
    expect(after.history[1].changes).toEqual({
      from: { startTime: booking.startTime, endTime: booking.endTime },
      to: { startTime: start, endTime: end },
    });
  });

  it('deleting the event in Outlook cancels the booking', async () => {
    const booking = await book();
    await afterNotification(t, () => t.microsoft.deleteEvent(booking.eventId));
    const after = await getBooking(t, booking.id);
    expect(after.status).toBe('cancelled');
    expect(after.cancellationReason).toBe('The event was deleted in Outlook Calendar');
    expect(after.history.at(-1)).toMatchObject({ action: 'cancelled', source: SOURCE });
    expect(after.history.filter((h) => h.action === 'cancelled')).toHaveLength(1);
  });

  it('renaming, re-describing and relocating the event updates the booking', async () => {
    const booking = await book();
    await afterNotification(t, () =>
      t.microsoft.updateEvent(booking.eventId, {
        subject: 'Renamed',
        body: { contentType: 'text', content: 'New agenda' },
        location: { displayName: 'Room 4' },
      }),
    );
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ title: 'Renamed', description: 'New agenda', location: 'Room 4', status: 'accepted' });
    expect(after.history.at(-1)).toMatchObject({
      action: 'updated',
      source: SOURCE,
      changes: { title: { from: 'Sync test', to: 'Renamed' } },
    });
    expect(after.history.filter((h) => h.action === 'updated')).toHaveLength(1);
  });

  it('guests added and removed in Outlook update the booking’s attendees', async () => {
    const booking = await book();
    await afterNotification(t, () =>
      t.microsoft.updateEvent(booking.eventId, {
        attendees: [{ type: 'required', emailAddress: { address: 'new.guest@example.com', name: 'New Guest' } }],
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
    await settleNotifications(t);
    expect(t.microsoft.getEvent(eventId)?.subject).toBe('Yesterday');
    await afterNotification(t, () => t.microsoft.deleteEvent(eventId));
    const after = await getBooking(t, res.body.id);
    expect(after.status).toBe('accepted');
    expect(after.history).toHaveLength(1);
  });

  it('a move into the past is ignored', async () => {
    const booking = await book();
    const start = new Date(Date.now() - 5 * 3600_000).toISOString();
    const end = new Date(Date.now() - 4 * 3600_000).toISOString();
    await afterNotification(t, () => t.microsoft.updateEvent(booking.eventId, graphTimes(start, end)));
    const after = await getBooking(t, booking.id);
    expect(after.startTime).toBe(booking.startTime);
    expect(after.history).toHaveLength(1);
  });

  it('a reschedule from the API keeps the guests’ answers, an optional attendee and the room the host booked', async () => {
    const booking = await book();
    // The guest accepts; the host adds a room and an optional attendee in Outlook. The booking's
    // guests become the two people; the room is not a guest.
    await afterNotification(t, () =>
      t.microsoft.updateEvent(booking.eventId, {
        attendees: [
          { type: 'required', emailAddress: { address: 'guest@example.com', name: 'Guest' }, status: { response: 'accepted' } },
          { type: 'optional', emailAddress: { address: 'maybe@example.com', name: 'Maybe' } },
          {
            type: 'resource',
            emailAddress: { address: 'room-4@resource.example.com', name: 'Room 4' },
            status: { response: 'accepted' },
          },
        ],
      }),
    );
    await settleNotifications(t);
    await rescheduleThroughApi(booking, 90);
    const attendees = (t.microsoft.getEvent(booking.eventId)?.attendees ?? []) as Array<{
      type: string;
      status: { response: string };
      emailAddress: { address: string };
    }>;
    expect(attendees.map((a) => [a.emailAddress.address, a.type, a.status.response])).toEqual([
      ['guest@example.com', 'required', 'accepted'],
      ['maybe@example.com', 'optional', 'none'],
      ['room-4@resource.example.com', 'resource', 'accepted'],
    ]);
    expect((await getBooking(t, booking.id)).attendees).toEqual([
      { email: 'guest@example.com', name: 'Guest' },
      { email: 'maybe@example.com', name: 'Maybe' },
    ]);
  });

  it('a reschedule from the API leaves the host’s HTML body (its Teams link) and the location’s address as they are', async () => {
    const booking = await book();
    const body = {
      contentType: 'html' as const,
      content:
        '<html><body><p><b>Agenda</b></p><a href="https://teams.microsoft.com/l/meetup-join/abc">Join Microsoft Teams Meeting</a></body></html>',
    };
    const location = {
      displayName: 'Room 4',
      locationType: 'conferenceRoom',
      address: { street: '1 Main St', city: 'Berlin', countryOrRegion: 'DE' },
    };
    await afterNotification(t, () => t.microsoft.updateEvent(booking.eventId, { body, location }));
    await settleNotifications(t);
    await rescheduleThroughApi(booking, 60);
    expect(t.microsoft.getEvent(booking.eventId)).toMatchObject({ body, location });
  });

  it('writes the event in the host’s time zone (its Windows name), at the booking’s instants, and keeps it on a reschedule', async () => {
    // The host's zone is Europe/Berlin (the fixture's default).
    const booking = await book(5);
    const stored = () => t.microsoft.getEvent(booking.eventId)!;
    expect(stored().originalStartTimeZone).toBe('W. Europe Standard Time');
    expect(graphInstant(stored().start.dateTime)).toBe(booking.startTime);
    expect(graphInstant(stored().end.dateTime)).toBe(booking.endTime);
    const { end } = await rescheduleThroughApi(booking, 60);
    expect(stored().originalStartTimeZone).toBe('W. Europe Standard Time');
    expect(graphInstant(stored().end.dateTime)).toBe(end);
    expect((await getBooking(t, booking.id)).history.map((h) => h.action)).toEqual(['created', 'rescheduled']);
  });

  /**
   * A host in `timeZone` (a Windows zone no other test of this file writes in: the adapter
   * remembers, per process, the zones Outlook reads otherwise than calsync) instead of the default one.
   */
  const hostIn = async (timeZone: string) => {
    host = await connectOutlookHost(t, { timeZone });
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
  };

  it('an Outlook whose zone data differs from calsync’s gets the times again in UTC, and that zone’s later writes in UTC at once: the event is at the booking’s instants and the booking is untouched', async () => {
    // This Exchange reads Romance Standard Time (Paris) with London's rules (an hour behind).
    await withExchangeRules('Romance Standard Time', 'Europe/London', async () => {
      await hostIn('Europe/Paris');
      const updatesBefore = t.microsoft.callCount('events.update');
      const booking = await book(5);
      const stored = () => t.microsoft.getEvent(booking.eventId)!;
      expect(stored().originalStartTimeZone).toBe('UTC');
      expect(graphInstant(stored().start.dateTime)).toBe(booking.startTime);
      expect(graphInstant(stored().end.dateTime)).toBe(booking.endTime);
      // The create in Paris' zone, then its correction in UTC.
      expect(t.microsoft.callCount('events.update') - updatesBefore).toBe(1);
      const { start, end } = await rescheduleThroughApi(booking, 90);
      expect(graphInstant(stored().end.dateTime)).toBe(end);
      // The reschedule goes out in UTC at once: no second update for guests.
      expect(t.microsoft.callCount('events.update') - updatesBefore).toBe(2);
      const after = await getBooking(t, booking.id);
      expect(after).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
      expect(after.history.map((h) => h.action)).toEqual(['created', 'rescheduled']);
    });
  });

  it('a new version between the write and its UTC correction (412) still ends with one event at the booking’s instants', async () => {
    await withExchangeRules('Central European Standard Time', 'Europe/London', async () => {
      await hostIn('Europe/Warsaw');
      // The correction after the create meets a version that changed in between.
      t.microsoft.faults.failNext({ operation: 'events.update', status: 412 });
      const booking = await book(5);
      const stored = () => t.microsoft.getEvent(booking.eventId)!;
      await expectEventually(() => expect(graphInstant(stored().start.dateTime)).toBe(booking.startTime));
      await settleNotifications(t);
      expect(graphInstant(stored().end.dateTime)).toBe(booking.endTime);
      expect(t.microsoft.listEvents(host.calendarId)).toHaveLength(1);
      expect(updatesAnswered(412)).toHaveLength(1);
      const after = await getBooking(t, booking.id);
      expect(after).toMatchObject({ status: 'accepted', startTime: booking.startTime, endTime: booking.endTime });
      expect(after.history.map((h) => h.action)).toEqual(['created']);
    });
  });

  it('a reschedule whose UTC correction meets a new version (412) is corrected against it: the booking keeps the API’s time, not the one Outlook made of the zone', async () => {
    await hostIn('Europe/Prague');
    const booking = await book(5);
    const stored = () => t.microsoft.getEvent(booking.eventId)!;
    expect(stored().originalStartTimeZone).toBe('Central Europe Standard Time');
    // From here on, this Exchange reads Prague's Windows zone with London's rules.
    await withExchangeRules('Central Europe Standard Time', 'Europe/London', async () => {
      // The reschedule's PATCH goes through; its correction meets a 412.
      t.microsoft.faults.failNext({ operation: 'events.update', status: 412, skip: 1 });
      const { start, end } = await rescheduleThroughApi(booking, 60);
      expect(graphInstant(stored().end.dateTime)).toBe(end);
      expect(updatesAnswered(412)).toHaveLength(1);
      const after = await getBooking(t, booking.id);
      expect(after).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['rescheduled', 'api'],
      ]);
    });
  });

  it('a reschedule whose UTC correction fails (Outlook unavailable) leaves the event recorded where Outlook put it, and the job’s retry writes the times again: the booking never moves', async () => {
    await hostIn('Europe/Athens');
    const booking = await book(5);
    const stored = () => t.microsoft.getEvent(booking.eventId)!;
    expect(stored().originalStartTimeZone).toBe('GTB Standard Time');
    await withExchangeRules('GTB Standard Time', 'Europe/London', async () => {
      // The reschedule's PATCH goes through; every try of its correction meets a 503.
      t.microsoft.faults.failNext({ operation: 'events.update', status: 503, skip: 1, count: 4 });
      const { start, end } = await rescheduleThroughApi(booking, 45, 15_000);
      expect(graphInstant(stored().end.dateTime)).toBe(end);
      expect(updatesAnswered(503)).toHaveLength(4);
      const after = await getBooking(t, booking.id);
      expect(after).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['rescheduled', 'api'],
      ]);
    });
  }, 30_000);

  it('a create whose UTC correction fails (Outlook unavailable) is recorded where Outlook put it and written again shortly: the booking never moves', async () => {
    await withExchangeRules('FLE Standard Time', 'Europe/London', async () => {
      await hostIn('Europe/Helsinki');
      // Every try of the correction after the create meets a 503.
      t.microsoft.faults.failNext({ operation: 'events.update', status: 503, count: 4 });
      const res = await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Misplaced', ...slot(6), attendees: [{ email: 'guest@example.com' }] })
        .expect(201);
      const booking = res.body as { id: number; startTime: string; endTime: string };
      const event = () => t.microsoft.listEvents(host.calendarId).find((e) => e.subject === 'Misplaced');
      await expectEventually(() => expect(graphInstant(event()?.start.dateTime ?? '')).toBe(booking.startTime), {
        timeoutMs: 15_000,
      });
      await settleNotifications(t);
      expect(graphInstant(event()!.end.dateTime)).toBe(booking.endTime);
      expect(t.microsoft.listEvents(host.calendarId)).toHaveLength(1);
      expect(updatesAnswered(503)).toHaveLength(4);
      const after = await getBooking(t, booking.id);
      expect(after).toMatchObject({ status: 'accepted', startTime: booking.startTime, endTime: booking.endTime });
      expect(after.history.map((h) => h.action)).toEqual(['created']);
    });
  }, 30_000);

  it('an Outlook that refuses the host’s zone (TimeZoneNotSupportedException) gets the event in UTC, once', async () => {
    await hostIn('Asia/Tokyo');
    t.microsoft.faults.failNext({ operation: 'events.create', status: 400, code: 'TimeZoneNotSupportedException' });
    const booking = await book(5);
    const stored = t.microsoft.getEvent(booking.eventId)!;
    expect(stored.originalStartTimeZone).toBe('UTC');
    expect(graphInstant(stored.start.dateTime)).toBe(booking.startTime);
    expect(t.microsoft.listEvents(host.calendarId)).toHaveLength(1);
    expect((await getBooking(t, booking.id)).history.map((h) => h.action)).toEqual(['created']);
  });

  it('the echo of our own reschedule changes nothing more', async () => {
    const booking = await book();
    const start = shifted(booking.startTime, 60);
    const end = shifted(booking.endTime, 60);
    const deltasBefore = t.microsoft.callCount(DELTA, host.calendarId);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: start, endTime: end }).expect(200);
    // The PATCH lands in Outlook, Graph notifies (twice), calsync pulls the echo.
    await expectEventually(() => expect(t.microsoft.callCount(DELTA, host.calendarId)).toBeGreaterThan(deltasBefore));
    await settleNotifications(t);
    expect(t.microsoft.getEvent(booking.eventId)).toMatchObject({
      start: { dateTime: start.replace('Z', '0000') },
      end: { dateTime: end.replace('Z', '0000') },
    });
    const after = await getBooking(t, booking.id);
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'api'],
    ]);
    expect(after).toMatchObject({ startTime: start, endTime: end });
    // The echo's changeKey equals the baseline stored with our write: no change was even detected.
    const detected: unknown[] = await t.dataSource.query(`SELECT 1 FROM "ExternalEventChange" WHERE "bookingId" = $1`, [
      booking.id,
    ]);
    expect(detected).toHaveLength(0);
  });

  it('the same change notified several times, across a renewal of the subscription, applies once', async () => {
    const booking = await book();
    // Graph renews by PATCHing the same subscription: same id, a later expiration.
    const before = subscriptionOf(host.calendarId);
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "channelExpiration" = now() + interval '1 hour' WHERE "channelId" = $1`,
      [before.id],
    );
    const creates = t.microsoft.callCount('subscriptions.create');
    const renewal = await runTask(t, 'subscribe-calendars');
    expect(renewal).toMatchObject({ renewed: 1, watched: 0 });
    expect(t.microsoft.callCount('subscriptions.create')).toBe(creates);
    const renewed = subscriptionOf(host.calendarId);
    expect(renewed.id).toBe(before.id);
    expect(Date.parse(renewed.expirationDateTime)).toBeGreaterThan(Date.parse(before.expirationDateTime));
    const stored: Array<{ channelId: string; channelExpiration: Date }> = await t.dataSource.query(
      `SELECT "channelId", "channelExpiration" FROM "SelectedCalendar" WHERE "channelId" = $1`,
      [before.id],
    );
    expect(stored).toHaveLength(1);
    // calsync keeps what Graph answered (Graph writes whole seconds).
    expect(Math.abs(stored[0].channelExpiration.getTime() - Date.parse(renewed.expirationDateTime))).toBeLessThan(1000);
    expect(stored[0].channelExpiration.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    await settleNotifications(t);

    const start = shifted(booking.startTime, 30);
    const end = shifted(booking.endTime, 30);
    // The edit's notification three times over, plus Graph's own echo.
    t.microsoft.faults.duplicateNextNotifications(1, 3);
    const logBefore = t.microsoft.notificationLog.length;
    await afterNotification(t, () => t.microsoft.updateEvent(booking.eventId, graphTimes(start, end)));
    const delivered = t.microsoft.notificationLog.slice(logBefore).filter((n) => n.kind === 'notification');
    expect(delivered.flatMap((n) => n.events).length).toBeGreaterThanOrEqual(4);
    expect(delivered.every((n) => n.status === 202)).toBe(true);
    // And once more, late, as Graph redelivers a notification it thinks was lost.
    await redeliver(renewed.id, booking.eventId);
    await settleNotifications(t);
    await expectConsistently(async () => {
      expect((await outlookHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
    });
    expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end });
  });

  it('notifications delivered in reverse order converge to the latest state', async () => {
    const booking = await book();
    t.microsoft.faults.holdNotifications();
    t.microsoft.updateEvent(booking.eventId, { subject: 'First' });
    const finalStart = shifted(booking.startTime, 90);
    const finalEnd = shifted(booking.endTime, 90);
    t.microsoft.updateEvent(booking.eventId, { subject: 'Second', ...graphTimes(finalStart, finalEnd) });
    // The second edit's notification arrives first (the echoes, 20 ms later, follow unheld).
    await t.microsoft.faults.releaseNotifications(true);
    await settleNotifications(t);
    await expectEventually(async () => {
      expect(await getBooking(t, booking.id)).toMatchObject({ title: 'Second', startTime: finalStart, endTime: finalEnd });
    });
    expect((await outlookHistory(booking.id)).filter((h) => h.action === 'rescheduled')).toHaveLength(1);
  });

  it('a dropped notification is healed by the safety-net resync', async () => {
    const booking = await book();
    // The edit's notification and its echo never arrive.
    t.microsoft.faults.dropNextNotifications(2);
    const start = shifted(booking.startTime, 45);
    const end = shifted(booking.endTime, 45);
    const deltasBefore = t.microsoft.callCount(DELTA, host.calendarId);
    const logBefore = t.microsoft.notificationLog.length;
    await afterNotification(t, () => t.microsoft.updateEvent(booking.eventId, graphTimes(start, end)));
    const sent = t.microsoft.notificationLog.slice(logBefore).filter((n) => n.kind === 'notification');
    expect(sent.map((n) => [n.status, n.events])).toEqual([
      ['dropped', ['updated']],
      ['dropped', ['updated']],
    ]);
    expect(t.microsoft.callCount(DELTA, host.calendarId)).toBe(deltasBefore);
    expect((await getBooking(t, booking.id)).startTime).toBe(booking.startTime);
    const result = await runTask(t, 'resync-calendars');
    expect(result.enqueued).toBeGreaterThanOrEqual(1);
    await waitForQueueIdle(t);
    expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end });
    expect((await outlookHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
  });

  it('429 (with Retry-After) and 503 answers to the delta call are retried until the change lands', async () => {
    const booking = await book();
    const from = t.microsoft.calls.length;
    t.microsoft.faults.failNext({ count: 2, operation: DELTA, status: 429, retryAfterSeconds: 1 });
    t.microsoft.faults.failNext({ count: 1, operation: DELTA, status: 503 });
    const start = shifted(booking.startTime, 15);
    const end = shifted(booking.endTime, 15);
    t.microsoft.updateEvent(booking.eventId, graphTimes(start, end));
    await expectEventually(
      async () => expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end }),
      { timeoutMs: 20_000 },
    );
    const calls = deltaCalls(host.calendarId, from);
    expect(calls.slice(0, 4).map((c) => c.status)).toEqual([429, 429, 503, 200]);
    // Retry-After: 1 was obeyed after each 429.
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(950);
    expect(calls[2].at - calls[1].at).toBeGreaterThanOrEqual(950);
    await settleNotifications(t);
    expect((await outlookHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
  });

  it('a Retry-After of minutes holds every sync of the calendar until then, whatever asks for one', async () => {
    const booking = await book();
    const from = t.microsoft.calls.length;
    t.microsoft.faults.failNext({ count: 1, operation: DELTA, status: 429, retryAfterSeconds: 120 });
    t.microsoft.updateEvent(booking.eventId, graphTimes(shifted(booking.startTime, 15), shifted(booking.endTime, 15)));
    const row = () => syncHold(t, host);
    await expectEventually(async () => expect((await row()).syncErrorCount).toBe(1));
    expect((await row()).waitSeconds).toBeGreaterThan(100);
    expect(deltaCalls(host.calendarId, from).map((c) => c.status)).toEqual([429]);
    // A failure recorded meanwhile without a Retry-After (a channel operation's) keeps the wait.
    await t.app.get(SyncStateStore).recordError((await row()).id, 'subscribe failed: a channel operation');
    expect((await row()).waitSeconds).toBeGreaterThan(100);

    // Later changes notify, the 5 s backoff passes; no call goes to Graph before the two minutes.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    t.microsoft.updateEvent(booking.eventId, graphTimes(shifted(booking.startTime, 30), shifted(booking.endTime, 30)));
    // (The queue is not idle now: the retry after the wait is queued, due in two minutes.)
    await expectConsistently(() => expect(deltaCalls(host.calendarId, from)).toHaveLength(1), { durationMs: 2_000 });

    // Once the wait is over (brought forward here), the next sync lands the change.
    await liftSyncHold(t, (await row()).id);
    await runTask(t, 'resync-calendars');
    await expectEventually(async () =>
      expect(await getBooking(t, booking.id)).toMatchObject({ startTime: shifted(booking.startTime, 30) }),
    );
    expect((await row()).waitSeconds).toBeNull();
    await waitForQueueIdle(t);
  }, 30_000);

  it('an event the host moved to another of their calendars is followed, not cancelled', async () => {
    const booking = await book();
    const iCalUId = t.microsoft.getEvent(booking.eventId)!.iCalUId;
    const other = t.microsoft.addCalendar(host.email, { name: 'Work' });
    let moved = '';
    await afterNotification(t, () => {
      moved = t.microsoft.moveEvent(booking.eventId, other.id).id;
    });
    // Outlook moves by copy: a new id, the same iCalUId.
    expect(moved).not.toBe(booking.eventId);
    expect(t.microsoft.getEvent(moved)?.iCalUId).toBe(iCalUId);
    const after = await getBooking(t, booking.id);
    expect(after.status).toBe('accepted');
    expect(after.references[0]).toMatchObject({ externalCalendarId: other.id, externalEventId: moved });
    expect(after.history).toHaveLength(1);
    // The new home is followed too: a move there still reaches the booking.
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    subscriptionOf(other.id);
    const start = shifted(booking.startTime, 240);
    const end = shifted(booking.endTime, 240);
    await afterNotification(t, () => t.microsoft.updateEvent(moved, graphTimes(start, end)));
    expect(await getBooking(t, booking.id)).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
    expect((await outlookHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
    // Moved back while both calendars are watched: the destination's `created` and the source's
    // `deleted` are synced independently, in whatever order; the booking follows, once more.
    let back = '';
    await afterNotification(t, () => {
      back = t.microsoft.moveEvent(moved, host.calendarId).id;
    });
    const home = await getBooking(t, booking.id);
    expect(home).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
    expect(home.references[0]).toMatchObject({ externalCalendarId: host.calendarId, externalEventId: back });
    expect((await outlookHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
  });

  it('only the host’s own calendar can change the host’s booking (an attendee’s copy never does)', async () => {
    const booking = await book();
    const guest = await connectOutlookHost(t);
    await enableFlagForUser(t, SYNC, guest.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    subscriptionOf(guest.calendarId);
    const iCalUId = t.microsoft.getEvent(booking.eventId)!.iCalUId;
    // When the host invites another Outlook user, the invitation lands in the guest's calendar
    // under its own id with the host's iCalUId. The emulator assigns iCalUIds itself, so the
    // copy is made as the guest's own event and given the host's iCalUId through a snapshot.
    const copy = t.microsoft.createEvent(guest.calendarId, {
      subject: 'Sync test',
      ...graphTimes(booking.startTime, booking.endTime),
      organizer: { emailAddress: { address: host.email } },
    });
    const hijack = t.microsoft.createEvent(guest.calendarId, {
      subject: 'Hijack',
      ...graphTimes(shifted(booking.startTime, 60), shifted(booking.endTime, 60)),
    });
    await settleNotifications(t);
    giveICalUId([copy.id, hijack.id], iCalUId);
    expect(t.microsoft.getEvent(copy.id)?.iCalUId).toBe(iCalUId);
    expect(t.microsoft.getEvent(hijack.id)?.iCalUId).toBe(iCalUId);

    // The guest moves and renames their copies, then deletes one: the guest's calendar syncs each time.
    const deltasBefore = t.microsoft.callCount(DELTA, guest.calendarId);
    await afterNotification(t, () =>
      t.microsoft.updateEvent(hijack.id, {
        subject: 'Hijacked',
        ...graphTimes(shifted(booking.startTime, 120), shifted(booking.endTime, 120)),
      }),
    );
    await afterNotification(t, () => t.microsoft.deleteEvent(copy.id));
    expect(t.microsoft.callCount(DELTA, guest.calendarId)).toBeGreaterThan(deltasBefore);
    expect(await getBooking(t, booking.id)).toMatchObject({
      status: 'accepted',
      title: 'Sync test',
      startTime: booking.startTime,
      endTime: booking.endTime,
      references: [{ externalCalendarId: host.calendarId, externalEventId: booking.eventId }],
    });
    expect((await getBooking(t, booking.id)).history).toHaveLength(1);
    // The host's own calendar still drives the booking.
    await afterNotification(t, () => t.microsoft.updateEvent(booking.eventId, { subject: 'Host renamed' }));
    expect((await getBooking(t, booking.id)).title).toBe('Host renamed');
  });

  it('a change recorded just before the process died (outbox row, command never ran) is applied by the safety net', async () => {
    const booking = await book();
    const start = shifted(booking.startTime, 45);
    const end = shifted(booking.endTime, 45);
    // What a sync leaves behind when the process dies between its commit and the saga: the
    // detected change in the outbox, not yet applied.
    await t.dataSource.query(
      `INSERT INTO "ExternalEventChange" ("bookingId", "source", "kind", "payload", "detectedAt")
       VALUES ($1, $2, 'rescheduled', $3, clock_timestamp() - interval '1 minute')`,
      [booking.id, SOURCE, JSON.stringify({ startTime: start, endTime: end })],
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
    expect((await outlookHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
  });

  it('a booking event moved beyond the sync window (an ambiguous @removed) is rescheduled, not cancelled', async () => {
    const booking = await book();
    const start = shifted(booking.startTime, 200 * 24 * 60);
    const end = shifted(booking.endTime, 200 * 24 * 60);
    const from = t.microsoft.calls.length;
    await afterNotification(t, () => t.microsoft.updateEvent(booking.eventId, graphTimes(start, end)));
    // The event left the calendarView window: the delta only says "@removed"; the sync asked for the event.
    expect(
      t.microsoft.calls.slice(from).filter((c) => c.operation === 'events.get' && c.status === 200).length,
    ).toBeGreaterThanOrEqual(1);
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', SOURCE],
    ]);
    expect(after.references[0].externalEventId).toBe(booking.eventId);
    // Brought back into the window, it is listed again by the same delta and reaches the booking.
    const backStart = shifted(booking.startTime, 24 * 60);
    const backEnd = shifted(booking.endTime, 24 * 60);
    await afterNotification(t, () => t.microsoft.updateEvent(booking.eventId, graphTimes(backStart, backEnd)));
    expect(await getBooking(t, booking.id)).toMatchObject({ status: 'accepted', startTime: backStart, endTime: backEnd });
    expect((await outlookHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled', 'rescheduled']);
  });

  it('a move written in the user’s own Windows time zone lands at the instant it names', async () => {
    const booking = await book();
    // Outlook writes wall-clock times in the mailbox's zone, named the Windows way: 14:00 in Tokyo
    // (no daylight saving time, so this holds all year) is 05:00 UTC.
    const day = booking.startTime.slice(0, 10);
    await afterNotification(t, () =>
      t.microsoft.updateEvent(booking.eventId, {
        start: { dateTime: `${day}T14:00:00`, timeZone: 'Tokyo Standard Time' },
        end: { dateTime: `${day}T14:45:00`, timeZone: 'Tokyo Standard Time' },
      }),
    );
    const expectedStart = `${day}T05:00:00.000Z`;
    const expectedEnd = `${day}T05:45:00.000Z`;
    expect(await getBooking(t, booking.id)).toMatchObject({ startTime: expectedStart, endTime: expectedEnd });
  });

  it('a deletion confirmed by a get cancels exactly once, even when notifications and delta entities repeat', async () => {
    const booking = await book();
    t.microsoft.faults.shuffleDelta(true);
    t.microsoft.faults.duplicateNextNotifications(1, 3);
    const from = t.microsoft.calls.length;
    await afterNotification(t, () => t.microsoft.deleteEvent(booking.eventId));
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ status: 'cancelled', cancellationReason: 'The event was deleted in Outlook Calendar' });
    expect((await outlookHistory(booking.id)).map((h) => h.action)).toEqual(['cancelled']);
    // Graph's @removed was confirmed with a get (404) before the booking was cancelled.
    expect(t.microsoft.calls.slice(from).some((c) => c.operation === 'events.get' && c.status === 404)).toBe(true);
    const outbox: Array<{ kind: string; outcome: string }> = await t.dataSource.query(
      `SELECT "kind", "outcome" FROM "ExternalEventChange" WHERE "bookingId" = $1 ORDER BY "id"`,
      [booking.id],
    );
    expect(outbox).toEqual([{ kind: 'deleted', outcome: 'applied' }]);
  });

  it('a removal no get confirmed never cancels a booking: its reference was committed while the sync looked (a booking written beyond the window)', async () => {
    const booking = await book();
    const [selected]: Array<{ id: number }> = await t.dataSource.query(
      `SELECT "id" FROM "SelectedCalendar" WHERE "credentialId" = $1 AND "externalId" = $2`,
      [host.credentialId, host.calendarId],
    );
    const calendar: SyncedCalendar = {
      selectedCalendarId: selected.id,
      userId: host.userId,
      credentialId: host.credentialId,
      provider: SOURCE,
      externalCalendarId: host.calendarId,
    };
    const recorder = t.app.get(ExternalChangeRecorder, { strict: false });
    const outbox = () =>
      t.dataSource.query(`SELECT "kind" FROM "ExternalEventChange" WHERE "bookingId" = $1 ORDER BY "id"`, [booking.id]);
    // What reaches the recorder when the sync checked the page's links before the booking's own
    // job committed its reference: Graph's bare @removed, unconfirmed.
    const unconfirmed = await t.dataSource.transaction((m) =>
      recorder.record(m, calendar, [removedEvent(booking.eventId, 'unknown')]),
    );
    expect(unconfirmed.events).toEqual([]);
    expect(await outbox()).toEqual([]);
    await expectConsistently(async () => expect((await getBooking(t, booking.id)).status).toBe('accepted'), {
      durationMs: 500,
    });
    // A removal a get confirmed is recorded as the deletion it is (seen inside its transaction,
    // then rolled back: nothing is left for the tests after this one).
    const runner = t.dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      const confirmed = await recorder.record(runner.manager, calendar, [removedEvent(booking.eventId, 'deleted')]);
      expect(confirmed.events).toHaveLength(1);
      expect(
        await runner.query(`SELECT "kind" FROM "ExternalEventChange" WHERE "bookingId" = $1 ORDER BY "id"`, [booking.id]),
      ).toEqual([{ kind: 'deleted' }]);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
    expect(await outbox()).toEqual([]);
  });

  it('making the booking’s event recurring in Outlook neither cancels nor repeatedly reschedules the booking', async () => {
    const booking = await book();
    const startDate = booking.startTime.slice(0, 10);
    const from = t.microsoft.calls.length;
    await afterNotification(t, () =>
      t.microsoft.updateEvent(booking.eventId, {
        recurrence: {
          pattern: { type: 'daily', interval: 1 },
          range: { type: 'numbered', startDate, numberOfOccurrences: 3 },
        },
      }),
    );
    // Graph's delta now says the single was @removed and lists three occurrences with their own
    // ids and iCalUIds; the event itself is the series master, at the booking's time.
    const master = t.microsoft.getEvent(booking.eventId);
    expect(master).toMatchObject({ type: 'seriesMaster', start: { dateTime: booking.startTime.replace('Z', '0000') } });
    expect(t.microsoft.calls.slice(from).some((c) => c.operation === 'events.get' && c.status === 200)).toBe(true);
    // Observed: the removal is confirmed with a get, which finds the master at the same times,
    // and the occurrences belong to no booking: nothing changes, not even one reschedule.
    await expectConsistently(async () => {
      const after = await getBooking(t, booking.id);
      expect(after).toMatchObject({ status: 'accepted', startTime: booking.startTime, endTime: booking.endTime });
      expect(after.history.map((h) => [h.action, h.source])).toEqual([['created', 'api']]);
      expect(after.references[0]).toMatchObject({ externalCalendarId: host.calendarId, externalEventId: booking.eventId });
    });
    const outbox: unknown[] = await t.dataSource.query(`SELECT 1 FROM "ExternalEventChange" WHERE "bookingId" = $1`, [
      booking.id,
    ]);
    expect(outbox).toHaveLength(0);
  });

  it.each(['syncStateNotFound', 'resyncRequired'] as const)(
    'a delta token Graph no longer accepts (%s) is replaced by a full resync: the change lands, live bookings stay',
    async (answer) => {
      const moving = await book(3);
      const staying = await book(5);
      const leaving = await book(7);
      t.microsoft.faults.invalidateDeltaTokens(host.calendarId, answer);
      const from = t.microsoft.calls.length;
      const start = shifted(moving.startTime, 60);
      const end = shifted(moving.endTime, 60);
      // One event moves within the window, another beyond it (a full listing no longer shows it).
      const farStart = shifted(leaving.startTime, 200 * 24 * 60);
      const farEnd = shifted(leaving.endTime, 200 * 24 * 60);
      await afterNotification(t, () => {
        t.microsoft.updateEvent(moving.eventId, graphTimes(start, end));
        t.microsoft.updateEvent(leaving.eventId, graphTimes(farStart, farEnd));
      });
      const calls = deltaCalls(host.calendarId, from);
      expect(calls[0].status).toBe(answer === 'syncStateNotFound' ? 410 : 400);
      // Then a new round over the window (startDateTime/endDateTime, no token).
      expect(calls.slice(1).some((c) => c.status === 200 && 'startDateTime' in c.query)).toBe(true);
      expect(await getBooking(t, moving.id)).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
      expect((await outlookHistory(moving.id)).map((h) => h.action)).toEqual(['rescheduled']);
      expect(await getBooking(t, leaving.id)).toMatchObject({ status: 'accepted', startTime: farStart, endTime: farEnd });
      expect((await outlookHistory(leaving.id)).map((h) => h.action)).toEqual(['rescheduled']);
      const untouched = await getBooking(t, staying.id);
      expect(untouched).toMatchObject({ status: 'accepted', startTime: staying.startTime, endTime: staying.endTime });
      expect(untouched.history).toHaveLength(1);
      // The next change rides the new delta token.
      const next = t.microsoft.calls.length;
      await afterNotification(t, () => t.microsoft.updateEvent(staying.eventId, { subject: 'After resync' }));
      expect(deltaCalls(host.calendarId, next).every((c) => c.status === 200 && !('startDateTime' in c.query))).toBe(true);
      expect((await getBooking(t, staying.id)).title).toBe('After resync');
    },
  );

  it('a change stays durable across a restart while the delta call keeps failing', async () => {
    const booking = await book();
    // Graph keeps failing the pull, so the sync job is queued and retrying when the process goes down.
    t.microsoft.faults.failNext({ count: 1000, operation: DELTA, status: 503 });
    const start = shifted(booking.startTime, 75);
    const end = shifted(booking.endTime, 75);
    const before = t.microsoft.notificationLog.length;
    t.microsoft.updateEvent(booking.eventId, graphTimes(start, end));
    await expectEventually(() =>
      expect(t.microsoft.notificationLog.slice(before).some((n) => n.kind === 'notification' && n.status === 202)).toBe(true),
    );
    await expectEventually(async () => {
      const rows: Array<{ attempts: number }> = await t.dataSource.query(
        `SELECT attempts FROM graphile_worker.jobs WHERE task_identifier = 'sync-calendar'`,
      );
      expect(rows.some((r) => r.attempts >= 1)).toBe(true);
    });
    expect((await getBooking(t, booking.id)).startTime).toBe(booking.startTime);
    await t.stop();
    t.microsoft.faults.clear();
    await t.restart();
    await expectEventually(
      async () => expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end }),
      { timeoutMs: 20_000 },
    );
    await settleNotifications(t);
    expect((await outlookHistory(booking.id)).map((h) => h.action)).toEqual(['rescheduled']);
  }, 40_000);

  /** Posts a change notification for `eventId` to calsync as Graph would (again). */
  async function redeliver(subscriptionId: string, eventId: string): Promise<void> {
    const sub = t.microsoft.subscriptions().find((s) => s.id === subscriptionId)!;
    const account = t.microsoft.accounts().find((a) => a.email === sub.email)!;
    const resource = `Users/${account.userId}/Events/${eventId}`;
    await t.http
      .post('/api/webhooks/calendar-subscription/office365_calendar')
      .send({
        value: [
          {
            subscriptionId,
            subscriptionExpirationDateTime: sub.expirationDateTime,
            changeType: 'updated',
            clientState: TEST_MICROSOFT_CLIENT_STATE,
            tenantId: t.microsoft.tenantId,
            resource,
            resourceData: {
              '@odata.type': '#Microsoft.Graph.Event',
              '@odata.id': resource,
              '@odata.etag': t.microsoft.getEvent(eventId)!['@odata.etag'],
              id: eventId,
            },
          },
        ],
      })
      .expect(202);
  }

  /** Gives stored events another iCalUId (what an invitation's copy in an attendee's mailbox carries). */
  function giveICalUId(eventIds: string[], iCalUId: string): void {
    const snapshot = t.microsoft.snapshot();
    for (const calendar of snapshot.calendars) {
      for (const event of calendar.events) if (eventIds.includes(event.id)) event.iCalUId = iCalUId;
    }
    t.microsoft.restore(snapshot);
  }
});

describe('Outlook → bookings: a booking further ahead than the sync window', () => {
  let t: TestApp;
  let host: Host;

  beforeAll(async () => {
    // A safety-net interval of 5 s, so the test can wait one out.
    t = await createTestApp({ microsoft: true, env: { RESYNC_INTERVAL_SECONDS: '5' } });
  });
  afterAll(async () => {
    await t.close();
  });

  /** A host whose Outlook calendar's delta hides changes beyond its window, as Graph may. */
  const farHost = async () => {
    t.microsoft.faults.hideChangesOutsideWindow(true);
    host = await connectOutlookHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
  };
  /** Longer than the app's resync interval (5 s): the next sync reads the far-off bookings again. */
  const anInterval = () => new Promise((resolve) => setTimeout(resolve, 5_100));

  it('moved, then deleted, in Outlook where the delta reports neither, follows at the next sync once a resync interval has passed', async () => {
    await farHost();
    const booking = await bookAndSettle(t, host, 120);
    await settleNotifications(t);
    await anInterval();
    const start = shifted(booking.startTime, 60);
    const end = shifted(booking.endTime, 60);
    await afterNotification(t, () => t.microsoft.updateEvent(booking.eventId, graphTimes(start, end)));
    await expectEventually(async () =>
      expect(await getBooking(t, booking.id)).toMatchObject({ status: 'accepted', startTime: start, endTime: end }),
    );
    await anInterval();
    await afterNotification(t, () => t.microsoft.deleteEvent(booking.eventId));
    await expectEventually(async () => expect((await getBooking(t, booking.id)).status).toBe('cancelled'));
    const after = await getBooking(t, booking.id);
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', SOURCE],
      ['cancelled', SOURCE],
    ]);
  }, 60_000);

  it('a failed read of one of those bookings holds up nothing: the others and the calendar’s own changes go through, no sync failure is recorded, and it is read again an interval later', async () => {
    await farHost();
    const far = [await bookAndSettle(t, host, 120), await bookAndSettle(t, host, 121)];
    const near = await bookAndSettle(t, host, 5);
    await settleNotifications(t);
    const failedRuns = async () => {
      const text = (await t.http.get('/metrics').expect(200)).text;
      const line = text
        .split('\n')
        .find((l) => /^calsync_sync_runs_total\{[^}]*provider="office365_calendar"[^}]*result="error"/.test(l));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const failedBefore = await failedRuns();
    await anInterval();
    // Both far-off events and the near one moved in Outlook, their notifications held until all
    // three are made; the sync they start reads the far-off events again, and one read is refused.
    t.microsoft.faults.holdNotifications();
    const moved = far.map((b) => ({ startTime: shifted(b.startTime, 60), endTime: shifted(b.endTime, 60) }));
    for (const [i, b] of far.entries()) t.microsoft.updateEvent(b.eventId, graphTimes(moved[i].startTime, moved[i].endTime));
    const start = shifted(near.startTime, 30);
    const end = shifted(near.endTime, 30);
    t.microsoft.updateEvent(near.eventId, graphTimes(start, end));
    t.microsoft.faults.failNext({ operation: 'events.get', status: 403 });
    await afterNotification(t, () => t.microsoft.faults.releaseNotifications());
    expect(await getBooking(t, near.id)).toMatchObject({ startTime: start, endTime: end });
    expect(
      t.microsoft.calls.filter((c) => c.email === host.email && c.operation === 'events.get' && c.status === 403),
    ).toHaveLength(1);
    const followed = async () => {
      const now = await Promise.all(far.map((b) => getBooking(t, b.id)));
      return now.filter((b, i) => b.startTime === moved[i].startTime).length;
    };
    expect(await followed()).toBe(1);
    const [calendar]: Array<{ syncErrorCount: number }> = await t.dataSource.query(
      `SELECT "syncErrorCount" FROM "SelectedCalendar" WHERE "credentialId" = $1`,
      [host.credentialId],
    );
    expect(calendar.syncErrorCount).toBe(0);
    expect(await failedRuns()).toBe(failedBefore);
    // An interval later, the one that could not be read follows too.
    await anInterval();
    await runTask(t, 'resync-calendars');
    await expectEventually(async () => expect(await followed()).toBe(2));
  }, 60_000);
});
