import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { type Host, connectGoogleHost, connectOutlookHost, graphTimes } from '../support/fixtures.js';
import {
  type SyncedBooking,
  bookAndSettle,
  enableFlagForUser,
  getBooking,
  runTask,
  shifted,
  waitForQueueIdle,
} from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';

/**
 * A change recorded by a sync whose command never ran (the process died between the commit and
 * the saga) is replayed later by the safety net. By then a newer change may have been applied:
 * the replay must not take the booking back in time while the calendar shows the newer state.
 */
describe('a late outbox replay never applies an old change over a newer one', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true });
  });
  afterAll(async () => {
    await t.close();
  });

  type Setup = {
    provider: 'google_calendar' | 'office365_calendar';
    connect: () => Promise<Host>;
    move: (host: Host, booking: SyncedBooking, start: string, end: string) => Promise<void>;
    relocate: (host: Host, booking: SyncedBooking, location: string) => Promise<void>;
  };
  const providers: Array<[string, Setup]> = [
    [
      'Google',
      {
        provider: 'google_calendar',
        connect: () => connectGoogleHost(t),
        move: async (host, booking, start, end) => {
          t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: start }, end: { dateTime: end } });
        },
        relocate: async (host, booking, location) => {
          t.google.updateEvent(host.calendarId, booking.eventId, { location });
        },
      },
    ],
    [
      'Outlook',
      {
        provider: 'office365_calendar',
        connect: () => connectOutlookHost(t),
        move: async (_host, booking, start, end) => {
          t.microsoft.updateEvent(booking.eventId, graphTimes(start, end));
        },
        relocate: async (_host, booking, location) => {
          t.microsoft.updateEvent(booking.eventId, { location: { displayName: location } });
        },
      },
    ],
  ];

  const settle = async (setup: Setup) => {
    const host = await setup.connect();
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    return { host, booking: await bookAndSettle(t, host) };
  };

  /** What a crash leaves behind: a detected reschedule whose command never ran. */
  const orphanReschedule = async (setup: Setup, bookingId: number, startTime: string, endTime: string) => {
    const rows: Array<{ id: string }> = await t.dataSource.query(
      `INSERT INTO "ExternalEventChange" ("bookingId", "source", "kind", "payload", "detectedAt")
       VALUES ($1, $2, 'rescheduled', $3, clock_timestamp() - interval '1 minute') RETURNING "id"::text AS id`,
      [bookingId, setup.provider, JSON.stringify({ startTime, endTime })],
    );
    return rows[0].id;
  };

  /** A detected change of the event's details (only the fields the host changed) whose command never ran. */
  const orphanDetails = async (setup: Setup, bookingId: number, details: Record<string, string>) => {
    const rows: Array<{ id: string }> = await t.dataSource.query(
      `INSERT INTO "ExternalEventChange" ("bookingId", "source", "kind", "payload", "detectedAt")
       VALUES ($1, $2, 'details', $3, clock_timestamp() - interval '1 minute') RETURNING "id"::text AS id`,
      [bookingId, setup.provider, JSON.stringify(details)],
    );
    return rows[0].id;
  };

  const outcomeOf = async (changeId: string) =>
    (
      (await t.dataSource.query(`SELECT "outcome" FROM "ExternalEventChange" WHERE "id" = $1`, [changeId])) as Array<{
        outcome: string;
      }>
    )[0].outcome;

  it.each(providers)('%s: a newer move by the host wins over the replayed one', async (_name, setup) => {
    const { host, booking } = await settle(setup);
    const old = await orphanReschedule(setup, booking.id, shifted(booking.startTime, 60), shifted(booking.endTime, 60));
    const start = shifted(booking.startTime, 180);
    const end = shifted(booking.endTime, 180);
    // The host's move lands (the orphan still waits: the queue is not idle until it is replayed).
    await setup.move(host, booking, start, end);
    await expectEventually(async () => expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end }));
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    await expectEventually(async () => expect(await outcomeOf(old)).toBe('ignored: superseded by a newer change'));
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ startTime: start, endTime: end });
    expect(after.history.filter((h) => h.action === 'rescheduled')).toHaveLength(1);
    // Not applied, and not lost: the history shows the replayed change as ignored, once.
    expect(after.history.filter((h) => h.action === 'ignored')).toEqual([
      expect.objectContaining({
        source: setup.provider,
        changes: expect.objectContaining({ reason: 'superseded by a later change' }),
      }),
    ]);
  });

  it.each(providers)('%s: a later API reschedule wins over the replayed one', async (_name, setup) => {
    const { booking } = await settle(setup);
    const old = await orphanReschedule(setup, booking.id, shifted(booking.startTime, 60), shifted(booking.endTime, 60));
    const start = shifted(booking.startTime, 240);
    const end = shifted(booking.endTime, 240);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: start, endTime: end }).expect(200);
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    await expectEventually(async () => expect(await outcomeOf(old)).toBe('ignored: superseded by a newer change'));
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ startTime: start, endTime: end });
    expect(after.history.map((h) => [h.action, h.source])).toEqual([
      ['created', 'api'],
      ['rescheduled', 'api'],
      ['ignored', setup.provider],
    ]);
  });

  it.each(providers)(
    '%s: details are superseded field by field: a newer change of the location leaves the replayed rename standing',
    async (_name, setup) => {
      const { host, booking } = await settle(setup);
      const before = await getBooking(t, booking.id);
      // The host renamed the event and moved it to Room 1; the process died before it was applied.
      const old = await orphanDetails(setup, booking.id, { title: 'Renamed by the host', location: 'Room 1' });
      // Then the host changed the location again, and that change lands first.
      await setup.relocate(host, booking, 'Room 2');
      await expectEventually(async () => expect(await getBooking(t, booking.id)).toMatchObject({ location: 'Room 2' }));
      await runTask(t, 'resync-calendars');
      await waitForQueueIdle(t);
      await expectEventually(async () => expect(await outcomeOf(old)).toBe('applied'));
      const after = await getBooking(t, booking.id);
      // The rename stands; the older location does not come back over the newer one.
      expect(after).toMatchObject({ title: 'Renamed by the host', location: 'Room 2' });
      expect(after.history.filter((h) => h.action !== 'created').map((h) => [h.action, h.source, h.changes])).toEqual([
        ['updated', setup.provider, { location: { from: null, to: 'Room 2' } }],
        ['ignored', setup.provider, { location: { from: 'Room 2', to: 'Room 1' }, reason: 'superseded by a later change' }],
        ['updated', setup.provider, { title: { from: before.title, to: 'Renamed by the host' } }],
      ]);
    },
  );

  it.each(providers)('%s: a replayed change with nothing newer is still applied, once', async (_name, setup) => {
    const { booking } = await settle(setup);
    const start = shifted(booking.startTime, 30);
    const end = shifted(booking.endTime, 30);
    const pending = await orphanReschedule(setup, booking.id, start, end);
    await runTask(t, 'resync-calendars');
    await expectEventually(async () => expect(await outcomeOf(pending)).toBe('applied'));
    expect(await getBooking(t, booking.id)).toMatchObject({ startTime: start, endTime: end });
  });
});
