import { CommandBus } from '@nestjs/cqrs';
import type { ProviderName } from '../../src/config/app-config.js';
import { RescheduleBookingCommand } from '../../src/modules/bookings/commands/reschedule-booking.command.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import {
  type Host,
  connectGoogleHost,
  connectOutlookHost,
  graphDateTime,
  graphTimes,
  slot,
  graphInstant,
} from '../support/fixtures.js';
import {
  afterNotification,
  afterPush,
  enableFlagForUser,
  runTask,
  settleNotifications,
  waitForQueueIdle,
} from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';
const CACHE = 'calendar-subscription-cache';

interface Times {
  start: string;
  end: string;
}

interface Booking {
  id: number;
  eventId: string;
  start: string;
  end: string;
}

interface BookingBody {
  id: number;
  status: string;
  startTime: string;
  endTime: string;
  conflict: boolean;
  pendingChange: { startTime: string; endTime: string; source: string } | null;
  history: Array<{ action: string; source: string; changes: Record<string, unknown> }>;
}

/** What the tests read of a `booking.conflict` event's data. */
interface ConflictEventData {
  booking: { id: number };
  conflict: { policy: string; with: { bookings: number[]; busy: Times[] } };
  [field: string]: unknown;
}

/** One provider: how the host moves an event, adds a calendar with events, and how calsync's work is awaited. */
interface ProviderSetup {
  name: string;
  source: string;
  connect(t: TestApp): Promise<Host>;
  /** Moves the event as the host would, without waiting. */
  move(t: TestApp, host: Host, eventId: string, to: Times): void;
  /** Deletes the event as the host would, without waiting. */
  remove(t: TestApp, host: Host, eventId: string): void;
  /** Runs `change` and waits until calsync handled it. */
  after(t: TestApp, change: () => unknown): Promise<void>;
  read(t: TestApp, host: Host, eventId: string): Times | null;
  settle(t: TestApp): Promise<void>;
  /** A second calendar of the host's account, with a busy event over `busy` and an all-day free event on `freeDay`. */
  addCalendar(t: TestApp, host: Host, busy: Times, freeDay: string): string;
  /** Makes the next event write answer `ms` later. */
  slowNextWrite(t: TestApp, ms: number): void;
  /** Event writes (updates) calsync made so far. */
  writes(t: TestApp): number;
  /** Live busy-time reads made so far (free/busy; Graph: calendarView). */
  liveBusyReads(t: TestApp): number;
  /** Makes live free/busy reads fail (retries included) until the faults are cleared. */
  failNextBusyRead(t: TestApp): void;
}

const nextDay = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

const google: ProviderSetup = {
  name: 'Google',
  source: 'google_calendar',
  connect: (t) => connectGoogleHost(t, { timeZone: 'UTC' }),
  move: (t, host, eventId, to) => {
    t.google.updateEvent(host.calendarId, eventId, { start: { dateTime: to.start }, end: { dateTime: to.end } });
  },
  remove: (t, host, eventId) => t.google.deleteEvent(host.calendarId, eventId),
  after: (t, change) => afterPush(t, change),
  read(t, host, eventId) {
    const event = t.google.getEvent(host.calendarId, eventId);
    if (!event || event.status === 'cancelled') return null;
    return { start: new Date(event.start!.dateTime!).toISOString(), end: new Date(event.end!.dateTime!).toISOString() };
  },
  settle: (t) => waitForQueueIdle(t),
  addCalendar(t, host, busy, freeDay) {
    const { id } = t.google.addCalendar(host.email, { summary: 'Other' });
    t.google.createEvent(id, { summary: 'Dentist', start: { dateTime: busy.start }, end: { dateTime: busy.end } });
    t.google.createEvent(id, {
      summary: 'Holiday',
      transparency: 'transparent',
      start: { date: freeDay },
      end: { date: nextDay(freeDay) },
    });
    return id;
  },
  slowNextWrite: (t, ms) => t.google.faults.slowNext({ operation: 'events.patch', delayMs: ms }),
  liveBusyReads: (t) => t.google.callCount('freebusy.query'),
  writes: (t) => t.google.callCount('events.patch'),
  failNextBusyRead: (t) =>
    t.google.faults.failNext({ count: 20, operation: 'freebusy.query', status: 500, reason: 'backendError' }),
};

const outlook: ProviderSetup = {
  name: 'Outlook',
  source: 'office365_calendar',
  connect: (t) => connectOutlookHost(t, { timeZone: 'UTC' }),
  move: (t, _host, eventId, to) => {
    t.microsoft.updateEvent(eventId, graphTimes(to.start, to.end));
  },
  remove: (t, _host, eventId) => t.microsoft.deleteEvent(eventId),
  after: (t, change) => afterNotification(t, change),
  read(t, _host, eventId) {
    const event = t.microsoft.getEvent(eventId);
    if (!event) return null;
    return { start: graphInstant(event.start.dateTime), end: graphInstant(event.end.dateTime) };
  },
  settle: (t) => settleNotifications(t),
  addCalendar(t, host, busy, freeDay) {
    const { id } = t.microsoft.addCalendar(host.email, { name: 'Other' });
    t.microsoft.createEvent(id, { subject: 'Dentist', start: graphDateTime(busy.start), end: graphDateTime(busy.end) });
    t.microsoft.createEvent(id, {
      subject: 'Holiday',
      isAllDay: true,
      showAs: 'free',
      start: { dateTime: `${freeDay}T00:00:00`, timeZone: 'UTC' },
      end: { dateTime: `${nextDay(freeDay)}T00:00:00`, timeZone: 'UTC' },
    });
    return id;
  },
  slowNextWrite: (t, ms) => t.microsoft.faults.slowNext({ operation: 'events.update', ms }),
  liveBusyReads: (t) => t.microsoft.callCount('calendarView'),
  writes: (t) => t.microsoft.callCount('events.update'),
  failNextBusyRead: (t) => t.microsoft.faults.failNext({ count: 20, operation: 'calendarView', status: 500 }),
};

describe('conflicts of calendar reschedules and the conflict policies', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true });
  });
  afterAll(async () => {
    await t.close();
  });

  const getBooking = async (id: number) => (await t.api.get(`/api/v1/bookings/${id}`).expect(200)).body as BookingBody;

  /** Every `booking.conflict` of the booking in the change feed, oldest first. */
  const conflictEvents = async (bookingId: number) =>
    (await hostEvents(bookingId)).filter((e) => e.type === 'booking.conflict').map((e) => e.data as ConflictEventData);
  /** The change feed's events of one booking, in order: type, and the fields each says changed. */
  const hostEvents = async (bookingId: number) => {
    const items: Array<{ type: string; data: { booking: { id: number }; changes?: Record<string, unknown> } }> = [];
    let cursor = '0';
    for (;;) {
      const page = await t.api.get(`/api/v1/changes?after=${cursor}&limit=500`).expect(200);
      if (page.body.items.length === 0) break;
      items.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    return items.filter((e) => e.data?.booking?.id === bookingId);
  };

  describe.each([google, outlook])('$name', (setup) => {
    let host: Host;
    /** Hours of a day three days ahead (UTC). */
    const at = (hour: number, minutes = 0): string => {
      const base = slot(3, 0).startTime;
      return new Date(Date.parse(base) + (hour * 60 + minutes) * 60_000).toISOString();
    };
    const day = () => slot(3, 0).startTime.slice(0, 10);

    beforeEach(async () => {
      t.google.faults.clear();
      t.microsoft.faults.clear();
      host = await setup.connect(t);
      await enableFlagForUser(t, SYNC, host.userId);
      await runTask(t, 'subscribe-calendars');
      await setup.settle(t);
    });

    const setPolicy = (conflictPolicy: string) =>
      t.api.put(`/api/v1/users/${host.userId}/sync-preferences`).send({ conflictPolicy }).expect(200);

    const book = async (start: string, end: string): Promise<Booking> => {
      const res = await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Call', startTime: start, endTime: end, attendees: [] })
        .expect(201);
      const eventId = await expectEventually(async () => {
        const refs = (await t.api.get(`/api/v1/bookings/${res.body.id}`).expect(200)).body.references;
        expect(refs).toHaveLength(1);
        return refs[0].externalEventId as string;
      });
      await setup.settle(t);
      return { id: res.body.id, eventId, start, end };
    };

    const hostMoves = (booking: Booking, to: Times) => setup.after(t, () => setup.move(t, host, booking.eventId, to));

    /**
     * Another calendar of the host, busy 16:00–17:00 (all day free otherwise), selected as a busy
     * source, with the destination calendar too when `andDestination`; settled (subscribed first when
     * `subscribe`).
     */
    const selectBusyCalendar = async ({ andDestination = false, subscribe = false } = {}) => {
      const other = setup.addCalendar(t, host, { start: at(16), end: at(17) }, day());
      for (const externalId of andDestination ? [other, host.calendarId] : [other]) {
        await t.api
          .post(`/api/v1/users/${host.userId}/selected-calendars`)
          .send({ credentialId: host.credentialId, externalId })
          .expect(201);
      }
      if (subscribe) await runTask(t, 'subscribe-calendars');
      await setup.settle(t);
    };

    /** Two bookings: `a` at 10:00–10:30 and `b` at 12:00–12:30. */
    const twoBookings = async () => ({ a: await book(at(10), at(10, 30)), b: await book(at(12), at(12, 30)) });
    const onto = { start: at(10, 15), end: at(10, 45) };

    it('accept: applies the move, marks the booking as conflicting, tells the host app what it overlaps; a move to a free time clears it', async () => {
      const { a, b } = await twoBookings();
      await hostMoves(b, onto);
      let after = await getBooking(b.id);
      expect(after).toMatchObject({ startTime: onto.start, endTime: onto.end, conflict: true, pendingChange: null });
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['rescheduled', setup.source],
      ]);
      // The list shows it too.
      const list = await t.api.get('/api/v1/bookings').query({ userId: host.userId }).expect(200);
      expect(list.body.items.find((i: BookingBody) => i.id === b.id).conflict).toBe(true);
      expect(list.body.items.find((i: BookingBody) => i.id === a.id).conflict).toBe(false);
      const events = await conflictEvents(b.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        source: setup.source,
        booking: { id: b.id, startTime: onto.start, conflict: true },
        changes: { startTime: { from: b.start, to: onto.start }, endTime: { from: b.end, to: onto.end } },
        conflict: { policy: 'accept', with: { bookings: [a.id], busy: [] } },
      });

      await hostMoves(b, { start: at(14), end: at(14, 30) });
      after = await getBooking(b.id);
      expect(after).toMatchObject({ startTime: at(14), conflict: false });
      expect(await conflictEvents(b.id)).toHaveLength(1);
      expect(setup.read(t, host, b.eventId)).toEqual({ start: at(14), end: at(14, 30) });
    }, 60_000);

    it('accept: an API reschedule to a free time clears the mark', async () => {
      const { b } = await twoBookings();
      await hostMoves(b, onto);
      expect((await getBooking(b.id)).conflict).toBe(true);
      await t.api
        .post(`/api/v1/bookings/${b.id}/reschedule`)
        .send({ startTime: at(16), endTime: at(16, 30) })
        .expect(200);
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(16), conflict: false });
      await setup.settle(t);
      expect(setup.read(t, host, b.eventId)).toEqual({ start: at(16), end: at(16, 30) });
    }, 60_000);

    it('revert: the booking keeps its time, the event is moved back once, history reverted, and its echo changes nothing', async () => {
      const { a, b } = await twoBookings();
      await setPolicy('revert');
      await hostMoves(b, onto);
      await expectEventually(() => expect(setup.read(t, host, b.eventId)).toEqual({ start: b.start, end: b.end }));
      await setup.settle(t);
      const after = await getBooking(b.id);
      expect(after).toMatchObject({ startTime: b.start, endTime: b.end, conflict: false, pendingChange: null });
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['reverted', setup.source],
      ]);
      expect(after.history[1].changes).toMatchObject({
        from: { startTime: b.start, endTime: b.end },
        to: { startTime: onto.start, endTime: onto.end },
        policy: 'revert',
        conflict: { bookings: [a.id] },
      });
      expect(await conflictEvents(b.id)).toEqual([
        expect.objectContaining({ conflict: { policy: 'revert', with: { bookings: [a.id], busy: [] } } }),
      ]);
      // The echo of the revert changed nothing: the event stays back, nothing more in the history.
      expect(setup.read(t, host, b.eventId)).toEqual({ start: b.start, end: b.end });
      expect((await getBooking(b.id)).history).toHaveLength(2);
    }, 60_000);

    it('revert after an ignored move: the event is still moved back to the booking’s time', async () => {
      const { b } = await twoBookings();
      await t.api.put(`/api/v1/users/${host.userId}/sync-preferences`).send({ applyReschedules: false }).expect(200);
      await hostMoves(b, { start: at(14), end: at(14, 30) });
      expect(await getBooking(b.id)).toMatchObject({ startTime: b.start });
      await t.api
        .put(`/api/v1/users/${host.userId}/sync-preferences`)
        .send({ applyReschedules: null, conflictPolicy: 'revert' })
        .expect(200);
      await hostMoves(b, onto);
      await expectEventually(() => expect(setup.read(t, host, b.eventId)).toEqual({ start: b.start, end: b.end }));
      await setup.settle(t);
      expect((await getBooking(b.id)).history.map((h) => h.action)).toEqual(['created', 'ignored', 'reverted']);
      expect(setup.read(t, host, b.eventId)).toEqual({ start: b.start, end: b.end });
    }, 60_000);

    it('revert: the host moves the event again while the revert is being written: the latest edit is evaluated, no ping-pong', async () => {
      const { b } = await twoBookings();
      await setPolicy('revert');
      setup.slowNextWrite(t, 1500);
      setup.move(t, host, b.eventId, onto);
      await expectEventually(async () => expect((await getBooking(b.id)).history.map((h) => h.action)).toContain('reverted'), {
        timeoutMs: 10_000,
      });
      // The revert is on its way to the calendar; the host moves the event to a free time meanwhile.
      const free = { start: at(15), end: at(15, 30) };
      await setup.after(t, () => setup.move(t, host, b.eventId, free));
      await setup.settle(t);
      await expectEventually(async () =>
        expect(await getBooking(b.id)).toMatchObject({ startTime: free.start, endTime: free.end }),
      );
      await setup.settle(t);
      expect(setup.read(t, host, b.eventId)).toEqual(free);
      const after = await getBooking(b.id);
      expect(after).toMatchObject({ startTime: free.start, conflict: false });
      expect(after.history.map((h) => h.action)).toEqual(['created', 'reverted', 'rescheduled']);
    }, 60_000);

    it('flag: the change waits as pendingChange with the event where the host put it; accept applies it without a write', async () => {
      const { a, b } = await twoBookings();
      await setPolicy('flag');
      await hostMoves(b, onto);
      let after = await getBooking(b.id);
      expect(after).toMatchObject({
        startTime: b.start,
        endTime: b.end,
        pendingChange: { startTime: onto.start, endTime: onto.end, source: setup.source },
      });
      expect(after.history.map((h) => h.action)).toEqual(['created']);
      expect(setup.read(t, host, b.eventId)).toEqual(onto);
      expect(await conflictEvents(b.id)).toEqual([
        expect.objectContaining({ conflict: { policy: 'flag', with: { bookings: [a.id], busy: [] } } }),
      ]);
      // A write of the booking that runs meanwhile (a retry, a write another change queued) leaves the event where it is.
      const writesBefore = setup.writes(t);
      await t.dataSource.query(
        `SELECT graphile_worker.add_job('write-booking', json_build_object('bookingId', $1::int),
                  queue_name := 'booking:' || $1, job_key := 'write-booking:' || $1, job_key_mode := 'replace')`,
        [b.id],
      );
      await setup.settle(t);
      expect(setup.read(t, host, b.eventId)).toEqual(onto);
      expect(setup.writes(t)).toBe(writesBefore);

      const accepted = await t.api.post(`/api/v1/bookings/${b.id}/pending-change/accept`).expect(200);
      expect(accepted.body).toMatchObject({ startTime: onto.start, endTime: onto.end, pendingChange: null, conflict: true });
      await setup.settle(t);
      after = await getBooking(b.id);
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['rescheduled', setup.source],
      ]);
      expect(setup.read(t, host, b.eventId)).toEqual(onto);
      // Answered once: nothing pending any more.
      await t.api.post(`/api/v1/bookings/${b.id}/pending-change/accept`).expect(404);
    }, 60_000);

    it('flag: reject moves the event back; history reverted', async () => {
      const { b } = await twoBookings();
      await setPolicy('flag');
      await hostMoves(b, onto);
      const rejected = await t.api.post(`/api/v1/bookings/${b.id}/pending-change/reject`).expect(200);
      expect(rejected.body).toMatchObject({ startTime: b.start, pendingChange: null, conflict: false });
      await expectEventually(() => expect(setup.read(t, host, b.eventId)).toEqual({ start: b.start, end: b.end }));
      await setup.settle(t);
      const after = await getBooking(b.id);
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['reverted', setup.source],
      ]);
      expect(after.history[1].changes).toMatchObject({ to: { startTime: onto.start }, pendingChange: 'rejected' });
      expect(setup.read(t, host, b.eventId)).toEqual({ start: b.start, end: b.end });
      // The host app hears that nothing is pending any more (before: nothing after booking.conflict).
      const events = await hostEvents(b.id);
      expect(events.map((e) => e.type)).toEqual(['booking.created', 'booking.conflict', 'booking.updated']);
      expect(events[2].data).toMatchObject({
        booking: { id: b.id, startTime: b.start, pendingChange: null },
        source: 'api',
        changes: { pendingChange: { from: { startTime: onto.start, endTime: onto.end, source: setup.source }, to: null } },
      });
    }, 60_000);

    it('flag: the host deletes the event while a change is pending: the booking is cancelled, and its booking.cancelled is all the host app needs', async () => {
      const { b } = await twoBookings();
      await setPolicy('flag');
      await hostMoves(b, onto);
      await setup.after(t, () => setup.remove(t, host, b.eventId));
      await setup.settle(t);
      expect(await getBooking(b.id)).toMatchObject({ status: 'cancelled', pendingChange: null });
      const events = await hostEvents(b.id);
      expect(events.map((e) => e.type)).toEqual(['booking.created', 'booking.conflict', 'booking.cancelled']);
      expect(events[2].data).toMatchObject({ booking: { status: 'cancelled', pendingChange: null } });
    }, 60_000);

    it('flag: the host deletes the event while a change is pending, with cancellations ignored: nothing is left pending', async () => {
      const { b } = await twoBookings();
      await t.api
        .put(`/api/v1/users/${host.userId}/sync-preferences`)
        .send({ conflictPolicy: 'flag', applyCancellations: false })
        .expect(200);
      await hostMoves(b, onto);
      expect((await getBooking(b.id)).pendingChange).not.toBeNull();
      await setup.after(t, () => setup.remove(t, host, b.eventId));
      await setup.settle(t);
      const after = await getBooking(b.id);
      // Before: the move stayed pending with no event left, and an accept "rescheduled" it from the calendar.
      expect(after).toMatchObject({ status: 'accepted', startTime: b.start, pendingChange: null });
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['ignored', setup.source],
      ]);
      await t.api.post(`/api/v1/bookings/${b.id}/pending-change/accept`).expect(404);
      const events = await hostEvents(b.id);
      expect(events.map((e) => e.type)).toEqual(['booking.created', 'booking.conflict', 'booking.updated']);
      expect(events[2].data).toMatchObject({ booking: { pendingChange: null }, changes: { pendingChange: { to: null } } });
    }, 60_000);

    it('flag: a newer calendar move replaces the pending change (re-evaluated); an API reschedule clears it', async () => {
      const { a, b } = await twoBookings();
      await setPolicy('flag');
      await hostMoves(b, onto);
      const again = { start: at(9, 45), end: at(10, 15) };
      await hostMoves(b, again);
      expect((await getBooking(b.id)).pendingChange).toMatchObject({ startTime: again.start, endTime: again.end });
      // Moved to a free time: no conflict, applied, nothing pending.
      await hostMoves(b, { start: at(13), end: at(13, 30) });
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(13), pendingChange: null, conflict: false });
      expect((await conflictEvents(b.id)).map((e) => e.conflict.with.bookings)).toEqual([[a.id], [a.id]]);

      await hostMoves(b, onto);
      expect((await getBooking(b.id)).pendingChange).not.toBeNull();
      await t.api
        .post(`/api/v1/bookings/${b.id}/reschedule`)
        .send({ startTime: at(17), endTime: at(17, 30) })
        .expect(200);
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(17), pendingChange: null });
      await setup.settle(t);
      expect(setup.read(t, host, b.eventId)).toEqual({ start: at(17), end: at(17, 30) });
    }, 90_000);

    it('flag: accepting while the host moves the event again never loses the host’s latest edit', async () => {
      const { b } = await twoBookings();
      await setPolicy('flag');
      await hostMoves(b, onto);
      const latest = { start: at(10, 5), end: at(10, 35) };
      const [answer] = await Promise.all([
        t.api.post(`/api/v1/bookings/${b.id}/pending-change/accept`),
        setup.after(t, () => setup.move(t, host, b.eventId, latest)),
      ]);
      expect([200, 409]).toContain(answer.status);
      await setup.settle(t);
      // Whichever came first, the event shows the host's latest time and the booking either has it
      // or holds it as the pending change; nothing wrote the event back.
      expect(setup.read(t, host, b.eventId)).toEqual(latest);
      const after = await getBooking(b.id);
      if (after.pendingChange) expect(after.pendingChange).toMatchObject({ startTime: latest.start, endTime: latest.end });
      else expect(after).toMatchObject({ startTime: latest.start, endTime: latest.end });
    }, 60_000);

    it('back-to-back is not a conflict; a cancelled booking does not count', async () => {
      const { a, b } = await twoBookings();
      await setPolicy('revert');
      await hostMoves(b, { start: at(10, 30), end: at(11) });
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(10, 30), conflict: false });
      await hostMoves(b, { start: at(9, 30), end: at(10) });
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(9, 30), conflict: false });

      await t.api.post(`/api/v1/bookings/${a.id}/cancel`).send({}).expect(200);
      await setup.settle(t);
      await hostMoves(b, onto);
      expect(await getBooking(b.id)).toMatchObject({ startTime: onto.start, conflict: false });
      expect(await conflictEvents(b.id)).toEqual([]);
    }, 60_000);

    it('busy time in another selected calendar counts; an all-day free event does not; the booking’s own event never does', async () => {
      const b = await book(at(12), at(12, 30));
      // The other calendar and the destination calendar itself are both selected (read live: no cache flag).
      await selectBusyCalendar({ andDestination: true });

      // The all-day free event covers the whole day, and the booking's own event sits at the new time: free.
      await hostMoves(b, { start: at(13), end: at(13, 30) });
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(13), conflict: false });

      await hostMoves(b, { start: at(16, 30), end: at(17, 30) });
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(16, 30), conflict: true });
      expect((await conflictEvents(b.id)).at(-1)).toMatchObject({
        conflict: { policy: 'accept', with: { bookings: [], busy: [{ start: at(16, 30), end: at(17) }] } },
      });
    }, 60_000);

    // A calendar change names its calendar's owner, and the check reads that user's calendars beside
    // the booking (one round trip less). A booking of someone else is judged by its own host's.
    it('a change whose calendar owner is not the booking’s host is judged by the host’s calendars', async () => {
      const b = await book(at(12), at(12, 30));
      await selectBusyCalendar();
      const stranger = await t.api
        .post('/api/v1/users')
        .send({ email: `stranger-${b.id}@example.com`, timeZone: 'UTC' })
        .expect(201);
      await t.app
        .get(CommandBus)
        .execute(
          new RescheduleBookingCommand(
            b.id,
            new Date(at(16, 30)),
            new Date(at(17, 30)),
            setup.source as ProviderName,
            undefined,
            undefined,
            stranger.body.id,
          ),
        );
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(16, 30), conflict: true });
    }, 60_000);

    it('from the cache where it is trusted: no live read, the booking’s own event left out', async () => {
      // A host of its own, the cache flag on before anything is synced (flags are cached for a moment).
      host = await setup.connect(t);
      await enableFlagForUser(t, SYNC, host.userId);
      await enableFlagForUser(t, CACHE, host.userId);
      const b = await book(at(12), at(12, 30));
      await selectBusyCalendar({ andDestination: true, subscribe: true });
      const busy = await t.api
        .get(`/api/v1/users/${host.userId}/busy-times`)
        .query({ start: at(0), end: at(24) })
        .expect(200);
      expect(busy.body.source).toBe('cache');
      const liveBefore = setup.liveBusyReads(t);

      await hostMoves(b, { start: at(13), end: at(13, 30) });
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(13), conflict: false });
      await hostMoves(b, { start: at(15, 30), end: at(16, 15) });
      expect(await getBooking(b.id)).toMatchObject({ startTime: at(15, 30), conflict: true });
      expect((await conflictEvents(b.id)).at(-1)).toMatchObject({
        conflict: { with: { bookings: [], busy: [{ start: at(16), end: at(16, 15) }] } },
      });
      expect(setup.liveBusyReads(t)).toBe(liveBefore);
    }, 60_000);

    it('a calendar that cannot be read counts as free, and the history says so', async () => {
      const b = await book(at(12), at(12, 30));
      await selectBusyCalendar();
      setup.failNextBusyRead(t);
      await hostMoves(b, { start: at(16, 30), end: at(17) });
      const after = await getBooking(b.id);
      expect(after).toMatchObject({ startTime: at(16, 30), conflict: false });
      expect(after.history.at(-1)).toMatchObject({
        action: 'rescheduled',
        changes: { busyUnchecked: expect.stringContaining('could not be read') },
      });
    }, 60_000);

    it('a conflicting change recorded before a crash is replayed once, by the policy', async () => {
      const { a, b } = await twoBookings();
      await setPolicy('revert');
      // What a crash leaves behind: the host's move recorded, its command never run.
      const rows: Array<{ id: string }> = await t.dataSource.query(
        `INSERT INTO "ExternalEventChange" ("bookingId", "source", "kind", "payload", "detectedAt")
         VALUES ($1, $2, 'rescheduled', $3, clock_timestamp() - interval '1 minute') RETURNING "id"::text AS id`,
        [b.id, setup.source, JSON.stringify({ startTime: onto.start, endTime: onto.end })],
      );
      await runTask(t, 'resync-calendars');
      await expectEventually(async () => {
        const [row] = await t.dataSource.query(`SELECT "outcome" FROM "ExternalEventChange" WHERE "id" = $1`, [rows[0].id]);
        expect(row.outcome).toBe('reverted: conflict');
      });
      await setup.settle(t);
      const after = await getBooking(b.id);
      expect(after).toMatchObject({ startTime: b.start });
      expect(after.history.map((h) => h.action)).toEqual(['created', 'reverted']);
      expect(await conflictEvents(b.id)).toEqual([
        expect.objectContaining({ conflict: { policy: 'revert', with: { bookings: [a.id], busy: [] } } }),
      ]);
      expect(setup.read(t, host, b.eventId)).toEqual({ start: b.start, end: b.end });
    }, 60_000);
  });

  describe('pending-change API', () => {
    it('404 without a pending change or for an unknown booking, 409 for a cancelled booking, 401 without the key, 400 for a bad id', async () => {
      const host = await connectGoogleHost(t, { timeZone: 'UTC' });
      const when = slot(4);
      const res = await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Call', ...when, attendees: [] })
        .expect(201);
      const id = res.body.id as number;
      for (const decision of ['accept', 'reject']) {
        const none = await t.api.post(`/api/v1/bookings/${id}/pending-change/${decision}`).expect(404);
        expect(none.headers['content-type']).toContain('application/problem+json');
        expect(none.body.detail).toContain('no pending change');
        await t.api.post(`/api/v1/bookings/999999/pending-change/${decision}`).expect(404);
        await t.http.post(`/api/v1/bookings/${id}/pending-change/${decision}`).expect(401);
        await t.api.post(`/api/v1/bookings/abc/pending-change/${decision}`).expect(400);
      }
      // A cancelled booking has nothing to answer (a cancellation clears a pending change).
      await t.api.post(`/api/v1/bookings/${id}/cancel`).send({}).expect(200);
      for (const decision of ['accept', 'reject']) {
        const cancelled = await t.api.post(`/api/v1/bookings/${id}/pending-change/${decision}`).expect(409);
        expect(cancelled.body.detail).toContain('cancelled');
      }
      expect((await getBooking(id)).pendingChange).toBeNull();
      await waitForQueueIdle(t);
    }, 30_000);
  });
});
