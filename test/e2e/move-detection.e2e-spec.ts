import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { type Host, connectGoogleHost } from '../support/fixtures.js';
import { bookAndSettle, enableFlagForUser, getBooking, runTask, shifted, waitForQueueIdle } from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';

/**
 * A booking's event reported deleted may have been moved by the host to another of their
 * calendars. Before calling it a cancellation, calsync looks in every calendar the host has; a
 * provider that fails to answer during that search makes the sync try again, never a cancellation.
 */
describe('move detection', () => {
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

  /** A second calendar of the host, "Work", selected for busy times and subscribed. */
  const selectWork = async () => {
    const work = t.google.addCalendar(host.email, { summary: 'Work' });
    const selected = await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: work.id })
      .expect(201);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    return { work, selectedId: selected.body.id as number };
  };

  it('finds the event in the host’s 25th calendar', async () => {
    const calendars = Array.from({ length: 24 }, (_, i) => t.google.addCalendar(host.email, { summary: `Calendar ${i + 1}` }));
    const last = calendars.at(-1)!;
    const booking = await bookAndSettle(t, host);
    t.google.moveEvent(host.calendarId, booking.eventId, last.id);
    await expectEventually(async () => expect((await getBooking(t, booking.id)).references[0].externalCalendarId).toBe(last.id), {
      timeoutMs: 15_000,
    });
    await waitForQueueIdle(t);
    expect((await getBooking(t, booking.id)).status).toBe('accepted');
  });

  it('a booking’s event the host made recurring and then moved to another calendar: the booking follows the series, not one of its occurrences', async () => {
    const other = t.google.addCalendar(host.email, { summary: 'Personal' });
    const booking = await bookAndSettle(t, host);
    t.google.updateEvent(host.calendarId, booking.eventId, { recurrence: ['RRULE:FREQ=DAILY;COUNT=3'] });
    await waitForQueueIdle(t);
    t.google.moveEvent(host.calendarId, booking.eventId, other.id);
    await expectEventually(
      async () => expect((await getBooking(t, booking.id)).references[0].externalCalendarId).toBe(other.id),
      {
        timeoutMs: 15_000,
      },
    );
    await waitForQueueIdle(t);
    const after = await getBooking(t, booking.id);
    expect(after.status).toBe('accepted');
    expect(after.references[0].externalEventId).toBe(booking.eventId);
  });

  it('a provider answering 429 while calsync looks for the event cancels nothing; the move is followed once it answers', async () => {
    const other = t.google.addCalendar(host.email, { summary: 'Work' });
    const booking = await bookAndSettle(t, host);
    // Enough 429s to outlast one sync run's own retries: the run fails and the job tries again later.
    t.google.faults.failNext({
      count: 4,
      operation: 'calendarList.list',
      status: 429,
      reason: 'rateLimitExceeded',
      retryAfterSeconds: 0,
    });
    t.google.moveEvent(host.calendarId, booking.eventId, other.id);
    await expectEventually(async () => expect(t.google.callCount('calendarList.list')).toBeGreaterThanOrEqual(4));
    expect((await getBooking(t, booking.id)).status).toBe('accepted');
    await expectEventually(
      async () => expect((await getBooking(t, booking.id)).references[0].externalCalendarId).toBe(other.id),
      {
        timeoutMs: 20_000,
      },
    );
    await waitForQueueIdle(t, 20_000);
    const after = await getBooking(t, booking.id);
    expect(after.status).toBe('accepted');
    expect(after.history.map((h) => h.action)).toEqual(['created']);
  }, 40_000);

  it('an event moved to a followed calendar and moved in time there: the booking follows both, whichever calendar syncs first', async () => {
    // "Work" is selected and cached too, so its own sync sees the event before the move is found.
    await t.admin
      .put(`/api/v1/admin/features/calendar-subscription-cache/users/${host.userId}`)
      .send({ enabled: true })
      .expect(200);
    const { work } = await selectWork();
    const booking = await bookAndSettle(t, host);
    // The home calendar's pushes are lost: Work syncs the moved, retimed event first, and passes over
    // it (not the booking's calendar yet); the safety net then finds the move from the home calendar.
    t.google.faults.dropNextPushes(5, t.google.liveChannels(host.calendarId)[0].id);
    t.google.moveEvent(host.calendarId, booking.eventId, work.id);
    const startTime = shifted(booking.startTime, 120);
    const endTime = shifted(booking.endTime, 120);
    t.google.updateEvent(work.id, booking.eventId, { start: { dateTime: startTime }, end: { dateTime: endTime } });
    await expectEventually(async () =>
      expect(
        (await t.dataSource.query(
          `SELECT count(*)::int AS n FROM "CalendarCacheEvent" c JOIN "SelectedCalendar" s ON s."id" = c."selectedCalendarId"
            WHERE s."externalId" = $1 AND c."externalId" = $2`,
          [work.id, booking.eventId],
        )) as Array<{ n: number }>,
      ).toEqual([{ n: 1 }]),
    );
    await waitForQueueIdle(t);
    expect((await getBooking(t, booking.id)).references[0].externalCalendarId).toBe(host.calendarId);
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ status: 'accepted', startTime, endTime });
    expect(after.references[0].externalCalendarId).toBe(work.id);
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'google_calendar'],
    ]);
  }, 40_000);

  it('a calendar holding a moved booking and then unselected is followed again by the sweep: a deletion there cancels the booking', async () => {
    const { work, selectedId } = await selectWork();
    const booking = await bookAndSettle(t, host);
    t.google.moveEvent(host.calendarId, booking.eventId, work.id);
    await expectEventually(async () => expect((await getBooking(t, booking.id)).references[0].externalCalendarId).toBe(work.id));
    await waitForQueueIdle(t);
    // The host stops reading busy times from Work: its row goes, and its channel is stopped.
    await t.api.delete(`/api/v1/users/${host.userId}/selected-calendars/${selectedId}`).expect(204);
    await waitForQueueIdle(t);
    expect(t.google.liveChannels(work.id)).toHaveLength(0);
    t.google.deleteEvent(work.id, booking.eventId);

    // The sweep finds the booking's calendar unfollowed and follows it again; the next
    // subscribe-calendars opens its channel, and the catch-up sync finds the deletion.
    expect(await runTask(t, 'resync-calendars')).toMatchObject({ refollowed: 1 });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    expect(t.google.liveChannels(work.id)).toHaveLength(1);
    const after = await getBooking(t, booking.id);
    expect(after.status).toBe('cancelled');
    expect(after.history.at(-1)).toMatchObject({ action: 'cancelled', source: 'google_calendar' });
    // Work is followed for the booking only: it is not a busy-time calendar again.
    const listed = await t.api.get(`/api/v1/users/${host.userId}/selected-calendars`).expect(200);
    expect((listed.body as Array<{ externalId: string }>).map((c) => c.externalId)).not.toContain(work.id);
    expect(await runTask(t, 'resync-calendars')).toMatchObject({ refollowed: 0 });
  }, 40_000);
});
