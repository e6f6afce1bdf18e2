import { WriteBookingJob } from '../../src/modules/bookings/jobs/write-booking.job.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { googleEventIdFor } from '../../src/modules/providers/google/google-event.mapper.js';
import { type Host, connectGoogleHost, connectOutlookHost, graphInstant, graphTimes, slot } from '../support/fixtures.js';
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
    t = await createTestApp({ env: { PROVIDER_TIMEOUT_MS: '400' } });
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

  /**
   * The API reschedules the booking by an hour; calsync does not see the host's edit yet (its push
   * is held), and the write job's first attempts fail, so the host's move (by three hours) lands
   * between the API change and the write.
   */
  async function hostMovesWhileTheWriteWaits(booking: { id: number; eventId: string; startTime: string; endTime: string }) {
    t.google.faults.holdPushes();
    t.google.faults.failNext({ count: 4, operation: 'events.patch', status: 503, reason: 'backendError' });
    const apiStart = shifted(booking.startTime, 60);
    const apiEnd = shifted(booking.endTime, 60);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: apiStart, endTime: apiEnd }).expect(200);
    await expectEventually(() => expect(t.google.callCount('events.patch')).toBeGreaterThanOrEqual(4));
    const hostStart = shifted(booking.startTime, 180);
    const hostEnd = shifted(booking.endTime, 180);
    const edited = t.google.updateEvent(host.calendarId, booking.eventId, {
      start: { dateTime: hostStart },
      end: { dateTime: hostEnd },
    });
    return { apiStart, apiEnd, hostStart, hostEnd, edited };
  }

  it('the host’s edit made after the API change wins; the booking follows it and both are in the history', async () => {
    const booking = await bookAndSettle(t, host);
    const { hostStart, hostEnd } = await hostMovesWhileTheWriteWaits(booking);
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

  it('an API change made in the same millisecond as the host’s edit, just after it: both sides call it the later one', async () => {
    // Google dates an edit to the millisecond, PostgreSQL an API change to the microsecond. The
    // write job (on a refused write) and the outbox (applying the host's edit) must order the two
    // alike, or each lets the other side win: the booking keeps the API's times, the calendar the host's.
    const booking = await bookAndSettle(t, host);
    const { apiStart, apiEnd, edited } = await hostMovesWhileTheWriteWaits(booking);
    // The API's reschedule, dated 0.4 ms after the host's edit (the same millisecond).
    const moved = await t.dataSource.query(
      `UPDATE "BookingHistory" SET "at" = $2::timestamptz + interval '400 microseconds'
        WHERE "bookingId" = $1 AND "source" = 'api' AND "action" = 'rescheduled'`,
      [booking.id, edited.updated],
    );
    expect(moved[1]).toBe(1);
    // The write job tries again, based on the version it last saw: refused (412), then it decides.
    await expectEventually(() => expect(t.google.callCount('events.patch')).toBeGreaterThanOrEqual(5), { timeoutMs: 20_000 });
    await waitForQueueIdle(t, 20_000);
    await t.google.faults.releasePushes();
    await waitForQueueIdle(t, 20_000);
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

  it('a calendar change recorded but not yet applied is never overwritten by an API write', async () => {
    const booking = await bookAndSettle(t, host);
    // The host renames the event; calsync has recorded the change (outbox row, baseline moved to the
    // host's version) but not applied it yet, as after a crash between the two.
    t.google.faults.holdPushes();
    const renamed = t.google.updateEvent(host.calendarId, booking.eventId, { summary: 'Renamed, not yet applied' });
    const baseline = {
      start: new Date(renamed.start!.dateTime!).toISOString(),
      end: new Date(renamed.end!.dateTime!).toISOString(),
      title: renamed.summary,
      description: renamed.description || null,
      location: renamed.location || null,
      attendees: [{ email: 'guest@example.com', name: 'Guest' }],
      etag: renamed.etag,
      updated: renamed.updated,
      sequence: renamed.sequence,
    };
    await t.dataSource.query(`UPDATE "BookingReference" SET "baseline" = $2 WHERE "bookingId" = $1`, [
      booking.id,
      JSON.stringify(baseline),
    ]);
    await t.dataSource.query(
      `INSERT INTO "ExternalEventChange" ("bookingId", "source", "kind", "payload", "detectedAt", "occurredAt")
       VALUES ($1, 'google_calendar', 'details', $2, clock_timestamp() - interval '1 minute', $3)`,
      [booking.id, JSON.stringify({ title: 'Renamed, not yet applied' }), renamed.updated],
    );
    const start = shifted(booking.startTime, 120);
    const end = shifted(booking.endTime, 120);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: start, endTime: end }).expect(200);
    // The write waits for the booking to catch up with its event (the replay applies the row).
    await runTask(t, 'resync-calendars');
    await t.google.faults.releasePushes();
    await waitForQueueIdle(t, 20_000);
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ startTime: start, endTime: end, title: 'Renamed, not yet applied' });
    const event = t.google.getEvent(host.calendarId, booking.eventId)!;
    expect(event.summary).toBe('Renamed, not yet applied');
    expect(new Date(event.start!.dateTime!).toISOString()).toBe(start);
  }, 40_000);

  it('a host’s deletion recorded but not yet applied: an API write waits for it and never brings the event back', async () => {
    const booking = await bookAndSettle(t, host);
    // The host deletes the event; calsync has recorded the deletion (the reference marked deleted,
    // an outbox row) but not applied it yet: the booking is still accepted, as in the moment between
    // the sync's commit and the saga's, or after a crash between the two.
    t.google.faults.holdPushes();
    t.google.deleteEvent(host.calendarId, booking.eventId);
    await t.dataSource.query(`UPDATE "BookingReference" SET "deletedAt" = now() WHERE "bookingId" = $1`, [booking.id]);
    await t.dataSource.query(
      `INSERT INTO "ExternalEventChange" ("bookingId", "source", "kind", "payload", "detectedAt", "occurredAt")
       VALUES ($1, 'google_calendar', 'deleted', '{}', clock_timestamp() - interval '1 minute', now())`,
      [booking.id],
    );
    // An API reschedule at that moment: its write finds no live event. Creating one now would bring
    // back what the host just deleted, for a booking about to be cancelled.
    await t.api
      .post(`/api/v1/bookings/${booking.id}/reschedule`)
      .send({ startTime: shifted(booking.startTime, 120), endTime: shifted(booking.endTime, 120) })
      .expect(200);
    await runTask(t, 'resync-calendars'); // replays the outbox row: the deletion cancels the booking
    await t.google.faults.releasePushes();
    await waitForQueueIdle(t, 20_000);
    const after = await getBooking(t, booking.id);
    expect(after.status).toBe('cancelled');
    expect(after.history.at(-1)).toMatchObject({ action: 'cancelled', source: 'google_calendar' });
    const [{ uid }]: Array<{ uid: string }> = await t.dataSource.query(`SELECT "uid" FROM "Booking" WHERE "id" = $1`, [
      booking.id,
    ]);
    const live = t.google.listEvents(host.calendarId).filter((e) => e.id === googleEventIdFor(uid) && e.status !== 'cancelled');
    expect(live).toEqual([]);
  }, 40_000);

  it('a write attempt abandoned at JOB_TIMEOUT_MS makes no further provider call; its retry writes', async () => {
    const booking = await bookAndSettle(t, host);
    const startTime = shifted(booking.startTime, 30);
    const endTime = shifted(booking.endTime, 30);
    // The booking moved (as an API reschedule would move it), its write not yet done.
    await t.dataSource.query(`UPDATE "Booking" SET "startTime" = $2, "endTime" = $3 WHERE "id" = $1`, [
      booking.id,
      startTime,
      endTime,
    ]);
    const job = t.app.get(WriteBookingJob);
    const patches = t.google.callCount('events.patch');
    await expect(job.run(booking.id, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    expect(t.google.callCount('events.patch')).toBe(patches);
    await job.run(booking.id);
    expect(t.google.callCount('events.patch')).toBe(patches + 1);
    const event = t.google.getEvent(host.calendarId, booking.eventId)!;
    expect(new Date(event.start.dateTime!).toISOString()).toBe(startTime);
  });

  it('a booking cancelled while its create’s answer was lost: the event that create made is withdrawn', async () => {
    // The insert lands at Google, but its answer comes after PROVIDER_TIMEOUT_MS (400 ms here).
    t.google.faults.slowNext({ operation: 'events.insert', delayMs: 1200 });
    const res = await t.api
      .post('/api/v1/bookings')
      .send({
        userId: host.userId,
        title: 'Cancelled before its answer',
        ...slot(7),
        attendees: [{ email: 'guest@example.com' }],
      })
      .expect(201);
    const uid: string = res.body.uid;
    const made = await expectEventually(() => {
      const found = t.google.getEvent(host.calendarId, googleEventIdFor(uid));
      expect(found?.status).toBe('confirmed');
      return found!;
    });
    // The create failed (timeout) before it could store a reference; the host product cancels now,
    // before the create's retry (graphile backs off about 2.7 s), and that retry is replaced.
    await expectEventually(async () => {
      const rows: Array<{ attempts: number }> = await t.dataSource.query(
        `SELECT attempts FROM graphile_worker.jobs WHERE task_identifier = 'write-booking'`,
      );
      expect(rows[0]?.attempts ?? 0).toBeGreaterThanOrEqual(1);
    });
    expect((await getBooking(t, res.body.id)).references).toEqual([]);
    await t.api.post(`/api/v1/bookings/${res.body.id}/cancel`).send({}).expect(200);
    await waitForQueueIdle(t, 20_000);
    expect((await getBooking(t, res.body.id)).status).toBe('cancelled');
    expect(t.google.getEvent(host.calendarId, made.id)?.status).toBe('cancelled');
  }, 40_000);

  it('a booking cancelled while its create is in flight, the cancellation finding no reference yet: the event is withdrawn', async () => {
    const booking = await bookAndSettle(t, host);
    // As if the booking's event had never been made: no reference, nothing in the calendar.
    await t.dataSource.query(`DELETE FROM "BookingReference" WHERE "bookingId" = $1`, [booking.id]);
    t.google.deleteEvent(host.calendarId, booking.eventId);
    await waitForQueueIdle(t);
    // The create takes 300 ms at Google; meanwhile the booking is cancelled, and that
    // cancellation's own job has come and gone (it found no reference).
    t.google.faults.slowNext({ operation: 'events.insert', delayMs: 300 });
    const creating = t.app.get(WriteBookingJob).run(booking.id);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.dataSource.query(`UPDATE "Booking" SET "status" = 'cancelled' WHERE "id" = $1`, [booking.id]);
    await creating;
    await expectEventually(() => expect(t.google.getEvent(host.calendarId, booking.eventId)?.status).toBe('cancelled'));
    await waitForQueueIdle(t);
    const [reference]: Array<{ deletedAt: Date | null }> = await t.dataSource.query(
      `SELECT "deletedAt" FROM "BookingReference" WHERE "bookingId" = $1`,
      [booking.id],
    );
    expect(reference.deletedAt).not.toBeNull();
  });

  it('a booking cancelled before its lost create has even landed: the event is withdrawn once it lands', async () => {
    // Google takes 3 s to carry out the insert; calsync gave up after PROVIDER_TIMEOUT_MS (400 ms).
    t.google.faults.slowNext({ operation: 'events.insert', delayMs: 3000 });
    const res = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Cancelled before it landed', ...slot(8), attendees: [{ email: 'guest@example.com' }] })
      .expect(201);
    const uid: string = res.body.uid;
    await expectEventually(async () => {
      const rows: Array<{ attempts: number }> = await t.dataSource.query(
        `SELECT attempts FROM graphile_worker.jobs WHERE task_identifier = 'write-booking'`,
      );
      expect(rows[0]?.attempts ?? 0).toBeGreaterThanOrEqual(1);
    });
    expect(t.google.getEvent(host.calendarId, googleEventIdFor(uid))).toBeUndefined();
    await t.api.post(`/api/v1/bookings/${res.body.id}/cancel`).send({}).expect(200);
    // The insert lands a moment later, and the cancellation's look finds it then.
    await expectEventually(() => expect(t.google.getEvent(host.calendarId, googleEventIdFor(uid))?.status).toBe('cancelled'), {
      timeoutMs: 15_000,
    });
    await waitForQueueIdle(t, 20_000);
    expect((await getBooking(t, res.body.id)).status).toBe('cancelled');
    expect(
      t.google.listEvents(host.calendarId).filter((e) => e.id === googleEventIdFor(uid) && e.status !== 'cancelled'),
    ).toEqual([]);
  }, 40_000);

  it('a create whose first attempt landed late finds the host’s edit made since and keeps it; the booking follows', async () => {
    // The first insert reaches Google but its answer comes after PROVIDER_TIMEOUT_MS (400 ms here).
    t.google.faults.slowNext({ operation: 'events.insert', delayMs: 1200 });
    const when = slot(6);
    const res = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Late create', ...when, attendees: [{ email: 'guest@example.com' }] })
      .expect(201);
    const uid: string = res.body.uid;
    const made = await expectEventually(() => {
      const found = t.google.listEvents(host.calendarId).find((e) => e.id === googleEventIdFor(uid));
      expect(found).toBeDefined();
      return found!;
    });
    // Before the job's retry (graphile backs off about 2.7 s), the host moves the event.
    const start = shifted(when.startTime, 60);
    const end = shifted(when.endTime, 60);
    t.google.updateEvent(host.calendarId, made.id, { start: { dateTime: start }, end: { dateTime: end } });
    await expectEventually(async () => expect((await getBooking(t, res.body.id)).references).toHaveLength(1), {
      timeoutMs: 20_000,
    });
    await waitForQueueIdle(t, 20_000);
    const after = await getBooking(t, res.body.id);
    expect(after).toMatchObject({ startTime: start, endTime: end });
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'google_calendar'],
    ]);
    const event = t.google.getEvent(host.calendarId, made.id)!;
    expect(new Date(event.start!.dateTime!).toISOString()).toBe(start);
    expect(t.google.listEvents(host.calendarId).filter((e) => e.id === googleEventIdFor(uid))).toHaveLength(1);
  }, 40_000);
});

/**
 * The same race in Outlook, where a retried create repeats its `transactionId`: Graph answers the
 * event that id made (or refuses the repeat as a different event: its documentation does not say
 * which it does when the event changed since; both are tried).
 */
describe('API writes racing the host’s edits (Outlook)', () => {
  let t: TestApp;
  let host: Host;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true, env: { PROVIDER_TIMEOUT_MS: '400' } });
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

  it.each([
    ['refuses the repeat as a different event', false],
    ['answers the event as it is now', true],
  ])(
    'a create whose answer was lost finds the host’s move made since and keeps it (Graph %s); the booking follows',
    async (_how, asTheyAre) => {
      // The create is carried out, but its answer is a gateway's 502; the attempts after it fail
      // too until the host has moved the event, minutes later (as far as the event's times tell).
      t.microsoft.faults.failNext({ operation: 'events.create', status: 502, afterEffect: true });
      t.microsoft.faults.failNext({ operation: 'events.create', status: 503, count: 1000 });
      const when = slot(6);
      const title = `Lost answer ${asTheyAre ? 'replayed' : 'refused'}`;
      const res = await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title, ...when, attendees: [{ email: 'guest@example.com' }] })
        .expect(201);
      const made = await expectEventually(() => {
        const found = t.microsoft.listEvents(host.calendarId).find((e) => e.subject === title);
        expect(found).toBeDefined();
        return found!;
      });
      // Before the job's retry gets through, the host moves the event by an hour, minutes after it was made.
      t.microsoft.ageEvent(made.id, 5 * 60_000);
      const start = shifted(when.startTime, 60);
      const end = shifted(when.endTime, 60);
      t.microsoft.updateEvent(made.id, graphTimes(start, end));
      t.microsoft.faults.clear();
      t.microsoft.faults.replayTransactionsAsTheyAre(asTheyAre);
      await expectEventually(async () => expect((await getBooking(t, res.body.id)).references).toHaveLength(1), {
        timeoutMs: 20_000,
      });
      await waitForQueueIdle(t, 20_000);
      const after = await getBooking(t, res.body.id);
      expect(after).toMatchObject({ startTime: start, endTime: end });
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['rescheduled', 'office365_calendar'],
      ]);
      // The host's move stands in Outlook: not written back to the booking's first time, and one event.
      const event = t.microsoft.getEvent(made.id)!;
      expect(graphInstant(event.start.dateTime)).toBe(start);
      expect(t.microsoft.listEvents(host.calendarId).filter((e) => e.subject === title)).toHaveLength(1);
    },
    40_000,
  );
  it('a booking cancelled while the answer to making its deleted event again was lost: the event made again is withdrawn', async () => {
    t.microsoft.faults.holdNotifications();
    const when = slot(8);
    const title = 'Made again, then cancelled';
    const res = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title, ...when, attendees: [{ email: 'guest@example.com' }] })
      .expect(201);
    const first = await expectEventually(async () => {
      const [reference] = (await getBooking(t, res.body.id)).references as Array<{ externalEventId: string }>;
      expect(reference).toBeDefined();
      return reference.externalEventId;
    });
    // The host deleted the event (as calsync recorded it; its notification is held).
    t.microsoft.deleteEvent(first);
    await t.dataSource.query(`UPDATE "BookingReference" SET "deletedAt" = now() WHERE "bookingId" = $1`, [res.body.id]);
    const job = t.app.get(WriteBookingJob);
    // Made again, but the answer is lost, and so are the retries'.
    t.microsoft.faults.failNext({ operation: 'events.create', status: 502, afterEffect: true });
    t.microsoft.faults.failNext({ operation: 'events.create', status: 503, count: 1000 });
    await expect(job.run(res.body.id)).rejects.toThrow();
    const live = () => t.microsoft.listEvents(host.calendarId).filter((e) => e.subject === title);
    expect(live()).toHaveLength(1);
    // The host product cancels the booking before the create's retry.
    await t.api.post(`/api/v1/bookings/${res.body.id}/cancel`).send({}).expect(200);
    await job.run(res.body.id);
    expect(live()).toEqual([]);
    await t.microsoft.faults.releaseNotifications();
  });
});
