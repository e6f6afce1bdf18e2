import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { type Host, connectGoogleHost } from '../support/fixtures.js';
import { bookAndSettle, enableFlagForUser, getBooking, runTask, shifted, waitForQueueIdle } from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';

/**
 * An API change is written to the calendar by a durable job, a moment later. If the host edits the
 * same event in that moment, the write is based on the version calsync last saw (If-Match): the
 * later intent wins, and calendar and booking end equal.
 */
describe('API writes racing the host’s edits (Google)', () => {
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

  it('the host’s edit made after the API change wins; the booking follows it and both are in the history', async () => {
    const booking = await bookAndSettle(t, host);
    // calsync does not see the host's edit yet (its push is held), and the write job's first
    // attempts fail, so the host's edit lands between the API change and the write.
    t.google.faults.holdPushes();
    t.google.faults.failNext({ count: 4, operation: 'events.patch', status: 503, reason: 'backendError' });
    const apiStart = shifted(booking.startTime, 60);
    const apiEnd = shifted(booking.endTime, 60);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: apiStart, endTime: apiEnd }).expect(200);
    await expectEventually(() => expect(t.google.callCount('events.patch')).toBeGreaterThanOrEqual(4));
    const hostStart = shifted(booking.startTime, 180);
    const hostEnd = shifted(booking.endTime, 180);
    t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: hostStart }, end: { dateTime: hostEnd } });
    // The write job tries again, based on the version it last saw: refused, and it leaves the host's edit be.
    await expectEventually(() => expect(t.google.callCount('events.patch')).toBeGreaterThanOrEqual(5), { timeoutMs: 20_000 });
    await t.google.faults.releasePushes();
    await expectEventually(
      async () => expect(await getBooking(t, booking.id)).toMatchObject({ startTime: hostStart, endTime: hostEnd }),
      { timeoutMs: 20_000 },
    );
    await waitForQueueIdle(t, 20_000);
    const event = t.google.getEvent(host.calendarId, booking.eventId)!;
    expect([event.start?.dateTime, event.end?.dateTime].map((d) => new Date(d!).toISOString())).toEqual([hostStart, hostEnd]);
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ startTime: hostStart, endTime: hostEnd });
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'api'],
      ['rescheduled', 'google_calendar'],
    ]);
  }, 40_000);

  it('an API change made after the host’s unseen edit wins; the calendar follows it', async () => {
    const booking = await bookAndSettle(t, host);
    // The host edits, but calsync has not seen it yet (the push is held).
    t.google.faults.holdPushes();
    t.google.updateEvent(host.calendarId, booking.eventId, { summary: 'Renamed by the host' });
    const apiStart = shifted(booking.startTime, 90);
    const apiEnd = shifted(booking.endTime, 90);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: apiStart, endTime: apiEnd }).expect(200);
    await expectEventually(() => {
      const event = t.google.getEvent(host.calendarId, booking.eventId)!;
      expect(new Date(event.start!.dateTime!).toISOString()).toBe(apiStart);
    });
    await t.google.faults.releasePushes();
    await waitForQueueIdle(t);
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ startTime: apiStart, endTime: apiEnd });
    const event = t.google.getEvent(host.calendarId, booking.eventId)!;
    expect(new Date(event.end!.dateTime!).toISOString()).toBe(apiEnd);
    // The write went through only once it was based on the host's version (a first try was refused).
    expect(t.google.calls.filter((c) => c.operation === 'events.patch').map((c) => c.status)).toContain(412);
    // Only what the API changed was written: the host's new title stays, and the booking takes it.
    expect(event.summary).toBe('Renamed by the host');
    expect(after.title).toBe('Renamed by the host');
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'api'],
      ['updated', 'google_calendar'],
    ]);
  });

  it('the same fields changed on both sides, the API last: the API’s times win and the host’s move is in the history as ignored', async () => {
    const booking = await bookAndSettle(t, host);
    t.google.faults.holdPushes();
    const hostStart = shifted(booking.startTime, 240);
    const hostEnd = shifted(booking.endTime, 240);
    t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: hostStart }, end: { dateTime: hostEnd } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const apiStart = shifted(booking.startTime, 30);
    const apiEnd = shifted(booking.endTime, 30);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: apiStart, endTime: apiEnd }).expect(200);
    await expectEventually(() => {
      const event = t.google.getEvent(host.calendarId, booking.eventId)!;
      expect(new Date(event.start!.dateTime!).toISOString()).toBe(apiStart);
    });
    await t.google.faults.releasePushes();
    await waitForQueueIdle(t);
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ startTime: apiStart, endTime: apiEnd });
    const event = t.google.getEvent(host.calendarId, booking.eventId)!;
    expect(new Date(event.end!.dateTime!).toISOString()).toBe(apiEnd);
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'api'],
      ['ignored', 'google_calendar'],
    ]);
    expect(after.history[2].changes).toMatchObject({ to: { startTime: hostStart, endTime: hostEnd } });
  });

  it('a host’s move noticed only after a later API reschedule (its push delayed) never undoes the API’s change', async () => {
    const booking = await bookAndSettle(t, host);
    t.google.faults.holdPushes();
    const hostStart = shifted(booking.startTime, 300);
    const hostEnd = shifted(booking.endTime, 300);
    t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: hostStart }, end: { dateTime: hostEnd } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The API's write cannot land yet, so the sync reads the host's move first.
    t.google.faults.failNext({ count: 3, operation: 'events.patch', status: 503, reason: 'backendError' });
    const apiStart = shifted(booking.startTime, 45);
    const apiEnd = shifted(booking.endTime, 45);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: apiStart, endTime: apiEnd }).expect(200);
    await t.google.faults.releasePushes();
    await waitForQueueIdle(t, 30_000);
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ startTime: apiStart, endTime: apiEnd });
    const event = t.google.getEvent(host.calendarId, booking.eventId)!;
    expect([event.start?.dateTime, event.end?.dateTime].map((d) => new Date(d!).toISOString())).toEqual([apiStart, apiEnd]);
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'api'],
      ['ignored', 'google_calendar'],
    ]);
  }, 40_000);
});
