import type { EmulatorSnapshot as GoogleSnapshot } from '../../emulators/google/snapshot.js';
import type { EmulatorSnapshot as GraphSnapshot } from '../../emulators/microsoft/snapshot.js';
import { expectEventually } from '../support/expect-eventually.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { type Host, connectGoogleHost, connectOutlookHost } from '../support/fixtures.js';
import {
  type SyncedBooking,
  bookAndSettle,
  enableFlagForUser,
  getBooking,
  runTask,
  settleNotifications,
  waitForQueueIdle,
} from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';

type ProviderName = 'google_calendar' | 'office365_calendar';

interface HoldView {
  id: number;
  status: 'held' | 'confirmed' | 'discarded';
  selectedCalendarId: number;
  userId: number;
  provider: ProviderName;
  count: number;
  reason: string;
  resolvedAt: string | null;
  changes: Array<{ bookingId: number; action: string; bookingStatus: string; outcome: string | null }>;
}

/** What differs between the providers; everything else is the same test. */
interface ProviderSetup {
  provider: ProviderName;
  label: string;
  connect(t: TestApp): Promise<Host>;
  /** Books through the API and waits until the event is in the calendar and its echo handled. */
  book(t: TestApp, host: Host, daysAhead: number): Promise<SyncedBooking>;
  /** The host deletes these events in the calendar; no push or notification reaches calsync. */
  deleteQuietly(t: TestApp, host: Host, bookings: SyncedBooking[]): void;
  /** The pushes held by `deleteQuietly` are delivered, and what they cause is done. */
  releasePushes(t: TestApp): Promise<void>;
  /**
   * The calendar comes back empty, as after a provider outage or a sandbox restart that lost its
   * state: no events, no tombstones, nothing pushed. Returns what brings it back as it was.
   */
  empty(t: TestApp, host: Host): () => void;
  /** The event exists (not deleted) in the emulator. */
  eventAlive(t: TestApp, host: Host, eventId: string): boolean;
  /** Waits until the calendar's pushes and the work they cause are done. */
  settle(t: TestApp): Promise<void>;
}

const google: ProviderSetup = {
  provider: 'google_calendar',
  label: 'Google Calendar',
  connect: (t) => connectGoogleHost(t),
  book: (t, host, daysAhead) => bookAndSettle(t, host, daysAhead),
  deleteQuietly(t, host, bookings) {
    t.google.faults.holdPushes();
    for (const b of bookings) t.google.deleteEvent(host.calendarId, b.eventId);
  },
  async releasePushes(t) {
    await t.google.faults.releasePushes();
    await waitForQueueIdle(t);
  },
  empty(t, host) {
    const before = t.google.snapshot();
    const emptied: GoogleSnapshot = structuredClone(before);
    const calendar = emptied.store.calendars.find((c) => c.id === host.calendarId);
    if (!calendar) throw new Error(`no calendar ${host.calendarId}`);
    calendar.events = [];
    calendar.changes = { seqs: [], events: [] };
    calendar.byICalUID = [];
    t.google.restore(emptied);
    return () => t.google.restore(before);
  },
  eventAlive(t, host, eventId) {
    const event = t.google.getEvent(host.calendarId, eventId);
    return event !== undefined && event.status !== 'cancelled';
  },
  settle: (t) => waitForQueueIdle(t),
};

const outlook: ProviderSetup = {
  provider: 'office365_calendar',
  label: 'Outlook Calendar',
  connect: (t) => connectOutlookHost(t),
  async book(t, host, daysAhead) {
    const booking = await bookAndSettle(t, host, daysAhead);
    await settleNotifications(t);
    return booking;
  },
  deleteQuietly(t, _host, bookings) {
    t.microsoft.faults.holdNotifications();
    for (const b of bookings) t.microsoft.deleteEvent(b.eventId);
  },
  async releasePushes(t) {
    await t.microsoft.faults.releaseNotifications();
    await settleNotifications(t);
  },
  empty(t, host) {
    const before = t.microsoft.snapshot();
    const emptied: GraphSnapshot = structuredClone(before);
    const calendar = emptied.calendars.find((c) => c.id === host.calendarId);
    if (!calendar) throw new Error(`no calendar ${host.calendarId}`);
    calendar.events = [];
    calendar.order = [];
    calendar.changeSeqs = [];
    calendar.changeIds = [];
    t.microsoft.restore(emptied);
    return () => t.microsoft.restore(before);
  },
  eventAlive: (t, _host, eventId) => t.microsoft.getEvent(eventId) !== undefined,
  settle: (t) => settleNotifications(t),
};

/** Shared steps, for an app and a provider. */
function steps(app: () => TestApp, setup: ProviderSetup) {
  const t = () => app();

  const connect = async (): Promise<Host & { selectedCalendarId: number }> => {
    const host = await setup.connect(t());
    await enableFlagForUser(t(), SYNC, host.userId);
    await runTask(t(), 'subscribe-calendars');
    await setup.settle(t());
    const calendars = (await t().admin.get('/api/v1/admin/selected-calendars?limit=200').expect(200)).body.items as Array<{
      id: number;
      userId: number;
      externalId: string;
    }>;
    const selected = calendars.find((c) => c.userId === host.userId && c.externalId === host.calendarId);
    if (!selected) throw new Error('the destination calendar is not followed');
    return { ...host, selectedCalendarId: selected.id };
  };

  const bookMany = async (host: Host, count: number): Promise<SyncedBooking[]> => {
    const bookings: SyncedBooking[] = [];
    for (let i = 0; i < count; i++) bookings.push(await setup.book(t(), host, 2 + i));
    return bookings;
  };

  /** `POST …/selected-calendars/:id/resync`: a full listing, which is where an emptied calendar shows. */
  const fullResync = async (selectedCalendarId: number) => {
    await t().admin.post(`/api/v1/admin/selected-calendars/${selectedCalendarId}/resync`).expect(202);
    await waitForQueueIdle(t());
  };

  const statuses = async (bookings: SyncedBooking[]) =>
    Promise.all(bookings.map(async (b) => (await getBooking(t(), b.id)).status));

  const holdsOf = async (selectedCalendarId: number, status?: string): Promise<HoldView[]> => {
    const res = await t()
      .admin.get(`/api/v1/admin/held-changes?limit=200${status ? `&status=${status}` : ''}`)
      .expect(200);
    return (res.body.items as HoldView[]).filter((h) => h.selectedCalendarId === selectedCalendarId);
  };

  const calendarState = async (selectedCalendarId: number) => {
    const rows = (await t().admin.get('/api/v1/admin/selected-calendars?limit=200').expect(200)).body.items as Array<{
      id: number;
      status: string;
      heldCount: number;
    }>;
    return rows.find((r) => r.id === selectedCalendarId);
  };

  const holdsMetric = async (): Promise<number> => {
    const text = (await t().http.get('/metrics').expect(200)).text;
    const match = text.match(new RegExp(`calsync_sync_holds_total\\{provider="${setup.provider}"\\} (\\d+)`));
    return match ? Number(match[1]) : 0;
  };

  return { connect, bookMany, fullResync, statuses, holdsOf, calendarState, holdsMetric };
}

describe.each<[string, ProviderSetup]>([
  ['Google', google],
  ['Outlook', outlook],
])('%s: a sync that would cancel many bookings at once holds them for a person', (_name, setup) => {
  let t: TestApp;
  const s = steps(() => t, setup);

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => {
    t.google.faults.clear();
    t.microsoft.faults.clear();
  });

  it('events deleted without pushes, then a full resync: nothing cancelled, the calendar held; confirm cancels each booking once', async () => {
    const host = await s.connect();
    const bookings = await s.bookMany(host, 12);
    const metricBefore = await s.holdsMetric();

    setup.deleteQuietly(t, host, bookings);
    await s.fullResync(host.selectedCalendarId);

    expect(await s.statuses(bookings)).toEqual(bookings.map(() => 'accepted'));
    for (const b of bookings) expect((await getBooking(t, b.id)).history).toHaveLength(1);
    expect(await s.calendarState(host.selectedCalendarId)).toMatchObject({ status: 'held', heldCount: 12 });
    expect(await s.holdsMetric()).toBe(metricBefore + 1);
    const [hold, ...others] = await s.holdsOf(host.selectedCalendarId, 'held');
    expect(others).toHaveLength(0);
    expect(hold).toMatchObject({ status: 'held', userId: host.userId, provider: setup.provider, count: 12, resolvedAt: null });
    expect(hold.reason).toContain('SYNC_MASS_CANCEL_THRESHOLD');
    expect(hold.changes.map((c) => c.bookingId).sort((a, b) => a - b)).toEqual(bookings.map((b) => b.id).sort((a, b) => a - b));
    expect(hold.changes.every((c) => c.action === 'cancel' && c.outcome === null)).toBe(true);
    expect((await t.admin.get(`/api/v1/admin/held-changes/${hold.id}`).expect(200)).body).toEqual(hold);

    // The pushes arrive late, another full resync runs, the safety net replays the outbox: nothing
    // is cancelled meanwhile and the same deletions are not held twice.
    await setup.releasePushes(t);
    await s.fullResync(host.selectedCalendarId);
    expect((await runTask(t, 'resync-calendars')).replayedChanges ?? 0).toBe(0);
    await waitForQueueIdle(t);
    expect(await s.statuses(bookings)).toEqual(bookings.map(() => 'accepted'));
    expect(await s.holdsOf(host.selectedCalendarId)).toHaveLength(1);
    expect(await s.holdsMetric()).toBe(metricBefore + 1);

    // Two admins confirm at once: one wins, the other is told it is done.
    const answers = await Promise.all([
      t.admin.post(`/api/v1/admin/held-changes/${hold.id}/confirm`),
      t.admin.post(`/api/v1/admin/held-changes/${hold.id}/confirm`),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const confirmed = answers.find((a) => a.status === 200)?.body as HoldView;
    expect(confirmed).toMatchObject({ id: hold.id, status: 'confirmed', count: 12 });
    expect(confirmed.changes.map((c) => c.outcome)).toEqual(bookings.map(() => 'cancelled'));
    await waitForQueueIdle(t);

    for (const b of bookings) {
      const after = await getBooking(t, b.id);
      expect(after.status).toBe('cancelled');
      expect(after.cancellationReason).toBe(`The event was deleted in ${setup.label}`);
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['cancelled', setup.provider],
      ]);
    }
    await t.admin.post(`/api/v1/admin/held-changes/${hold.id}/confirm`).expect(409);
    await t.admin.post(`/api/v1/admin/held-changes/${hold.id}/discard`).expect(409);
    expect((await s.calendarState(host.selectedCalendarId))?.status).not.toBe('held');
    expect(await s.holdsOf(host.selectedCalendarId, 'held')).toHaveLength(0);
    expect((await s.holdsOf(host.selectedCalendarId, 'confirmed')).map((h) => h.id)).toEqual([hold.id]);
  }, 60_000);

  it('the calendar comes back empty (no events, no tombstones): held; discard keeps the bookings and writes their events back', async () => {
    const host = await s.connect();
    const bookings = await s.bookMany(host, 12);

    setup.empty(t, host);
    await s.fullResync(host.selectedCalendarId);
    expect(await s.statuses(bookings)).toEqual(bookings.map(() => 'accepted'));
    expect(await s.calendarState(host.selectedCalendarId)).toMatchObject({ status: 'held', heldCount: 12 });
    const [hold] = await s.holdsOf(host.selectedCalendarId, 'held');
    expect(hold.count).toBe(12);

    const discarded = (await t.admin.post(`/api/v1/admin/held-changes/${hold.id}/discard`).expect(200)).body as HoldView;
    expect(discarded).toMatchObject({ status: 'discarded' });
    expect(discarded.changes.map((c) => c.outcome)).toEqual(bookings.map(() => 'discarded'));
    await setup.settle(t);

    for (const b of bookings) {
      const after = await getBooking(t, b.id);
      expect(after.status).toBe('accepted');
      expect(after.history.map((h) => h.action)).toEqual(['created']);
      expect(after.references).toHaveLength(1);
      expect(setup.eventAlive(t, host, after.references[0].externalEventId)).toBe(true);
    }
    await t.admin.post(`/api/v1/admin/held-changes/${hold.id}/confirm`).expect(409);
    await t.admin.post(`/api/v1/admin/held-changes/${hold.id}/discard`).expect(409);

    // The calendar is whole again: the next full resync finds nothing to cancel or hold.
    await s.fullResync(host.selectedCalendarId);
    expect(await s.statuses(bookings)).toEqual(bookings.map(() => 'accepted'));
    expect(await s.holdsOf(host.selectedCalendarId, 'held')).toHaveLength(0);
    expect((await s.calendarState(host.selectedCalendarId))?.status).toBe('subscribed');
  }, 60_000);

  it('events that came back before the confirmation are not cancelled', async () => {
    const host = await s.connect();
    const bookings = await s.bookMany(host, 11);

    const comeBack = setup.empty(t, host);
    await s.fullResync(host.selectedCalendarId);
    const [hold] = await s.holdsOf(host.selectedCalendarId, 'held');
    expect(hold.count).toBe(11);

    // The provider's outage is over: the events are all there again. A person confirms anyway.
    comeBack();
    const confirmed = (await t.admin.post(`/api/v1/admin/held-changes/${hold.id}/confirm`).expect(200)).body as HoldView;
    expect(confirmed.status).toBe('confirmed');
    expect(confirmed.changes.map((c) => c.outcome)).toEqual(bookings.map(() => 'kept: the event exists again in the calendar'));
    await waitForQueueIdle(t);
    for (const b of bookings) expect((await getBooking(t, b.id)).history.map((h) => h.action)).toEqual(['created']);
  }, 60_000);

  it('deletions at or below the threshold cancel the bookings as before', async () => {
    const host = await s.connect();
    const bookings = await s.bookMany(host, 3);
    const metricBefore = await s.holdsMetric();

    setup.deleteQuietly(t, host, bookings);
    await s.fullResync(host.selectedCalendarId);
    await setup.releasePushes(t);

    expect(await s.statuses(bookings)).toEqual(bookings.map(() => 'cancelled'));
    for (const b of bookings) {
      expect((await getBooking(t, b.id)).history.filter((h) => h.action === 'cancelled')).toEqual([
        expect.objectContaining({ source: setup.provider }),
      ]);
    }
    expect(await s.holdsOf(host.selectedCalendarId)).toHaveLength(0);
    expect(await s.holdsMetric()).toBe(metricBefore);
  });

  it('a host whose cancellations are ignored (applyCancellations off) is not held: every deletion is recorded as ignored at once', async () => {
    const host = await s.connect();
    await t.api.put(`/api/v1/users/${host.userId}/sync-preferences`).send({ applyCancellations: false }).expect(200);
    const bookings = await s.bookMany(host, 12);
    const metricBefore = await s.holdsMetric();

    setup.deleteQuietly(t, host, bookings);
    await s.fullResync(host.selectedCalendarId);
    await setup.releasePushes(t);
    await waitForQueueIdle(t);

    // Before: the twelve were held as if they would be cancelled, and a discard wrote the host's
    // deleted events back into the calendar.
    expect(await s.holdsOf(host.selectedCalendarId)).toHaveLength(0);
    expect(await s.holdsMetric()).toBe(metricBefore);
    expect((await s.calendarState(host.selectedCalendarId))?.status).not.toBe('held');
    expect(await s.statuses(bookings)).toEqual(bookings.map(() => 'accepted'));
    for (const b of bookings) {
      expect((await getBooking(t, b.id)).history.map((h) => [h.action, h.source, h.changes?.preference])).toEqual([
        ['created', 'api', undefined],
        ['ignored', setup.provider, 'applyCancellations'],
      ]);
    }
    // The brake's judgement is in the rows: a replay after the preference was switched on (a crash
    // before the command ran, another instance's cached preferences) still does not cancel what
    // was let through uncounted.
    const ids = bookings.map((b) => b.id);
    const rows: Array<{ payload: { ignoredBy?: string } }> = await t.dataSource.query(
      `SELECT "payload" FROM "ExternalEventChange" WHERE "bookingId" = ANY($1::int[]) AND "kind" = 'deleted'`,
      [ids],
    );
    expect(rows.map((r) => r.payload.ignoredBy)).toEqual(ids.map(() => 'applyCancellations'));
    await t.api.put(`/api/v1/users/${host.userId}/sync-preferences`).send({ applyCancellations: true }).expect(200);
    const [crashed] = await t.dataSource.query(
      `INSERT INTO "ExternalEventChange" ("bookingId", "source", "kind", "payload", "detectedAt")
       VALUES ($1, $2, 'deleted', $3, clock_timestamp() - interval '1 minute') RETURNING "id"::text AS id`,
      [ids[0], setup.provider, JSON.stringify({ ignoredBy: 'applyCancellations' })],
    );
    await runTask(t, 'resync-calendars');
    await expectEventually(async () => {
      const [row] = await t.dataSource.query(`SELECT "outcome" FROM "ExternalEventChange" WHERE "id" = $1`, [crashed.id]);
      expect(row.outcome).toBe('ignored: preference applyCancellations was off when the change was seen');
    });
    expect((await getBooking(t, ids[0])).status).toBe('accepted');
  }, 60_000);
});

describe('Outlook: a discarded hold of deleted events writes new events', () => {
  let t: TestApp;
  const s = steps(() => t, outlook);

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true });
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['frees it', false],
    ['keeps it', true],
  ])(
    'events the host deleted come back as new events when the hold is discarded (a deleted event’s transactionId: Graph %s)',
    async (_how, kept) => {
      t.microsoft.faults.keepDeletedTransactionIds(kept);
      const host = await s.connect();
      const bookings = await s.bookMany(host, 11);
      outlook.deleteQuietly(t, host, bookings);
      await s.fullResync(host.selectedCalendarId);
      await outlook.releasePushes(t);
      const [hold] = await s.holdsOf(host.selectedCalendarId, 'held');
      expect(hold.count).toBe(11);

      await t.admin.post(`/api/v1/admin/held-changes/${hold.id}/discard`).expect(200);
      await settleNotifications(t);
      for (const b of bookings) {
        const after = await getBooking(t, b.id);
        expect(after.status).toBe('accepted');
        // Graph gave the event written back a new id, made under a transactionId of its own.
        expect(after.references[0].externalEventId).not.toBe(b.eventId);
        expect(outlook.eventAlive(t, host, after.references[0].externalEventId)).toBe(true);
      }
      await s.fullResync(host.selectedCalendarId);
      expect(await s.statuses(bookings)).toEqual(bookings.map(() => 'accepted'));
      expect(await s.holdsOf(host.selectedCalendarId, 'held')).toHaveLength(0);
      t.microsoft.faults.clear();
    },
    60_000,
  );
});

/**
 * The booking's Google event id is deterministic, so writing back an event the host deleted
 * inserts over a tombstone: Google answers 409, and the adapter revives the event with a patch that
 * says `status: 'confirmed'`.
 */
describe('Google: a discarded hold of deleted events revives them', () => {
  let t: TestApp;
  const s = steps(() => t, google);

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('events the host deleted (tombstones) are live again when the hold is discarded', async () => {
    const host = await s.connect();
    const bookings = await s.bookMany(host, 11);
    google.deleteQuietly(t, host, bookings);
    await s.fullResync(host.selectedCalendarId);
    await google.releasePushes(t);
    const [hold] = await s.holdsOf(host.selectedCalendarId, 'held');
    expect(hold.count).toBe(11);

    await t.admin.post(`/api/v1/admin/held-changes/${hold.id}/discard`).expect(200);
    await waitForQueueIdle(t);
    for (const b of bookings) {
      const after = await getBooking(t, b.id);
      expect(after.status).toBe('accepted');
      // The deterministic id of the deleted event is used again (an insert answers 409): the event is revived.
      expect(after.references[0].externalEventId).toBe(b.eventId);
      expect(google.eventAlive(t, host, b.eventId)).toBe(true);
    }
    await s.fullResync(host.selectedCalendarId);
    expect(await s.statuses(bookings)).toEqual(bookings.map(() => 'accepted'));
    expect(await s.holdsOf(host.selectedCalendarId, 'held')).toHaveLength(0);
  }, 60_000);
});

describe('the threshold comes from SYNC_MASS_CANCEL_THRESHOLD', () => {
  let t: TestApp;
  const s = steps(() => t, google);

  beforeAll(async () => {
    t = await createTestApp({ env: { SYNC_MASS_CANCEL_THRESHOLD: '5' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('6 deletions are held with a threshold of 5; 5 are cancelled', async () => {
    const held = await s.connect();
    const heldBookings = await s.bookMany(held, 6);
    const cancelled = await s.connect();
    const cancelledBookings = await s.bookMany(cancelled, 5);

    google.deleteQuietly(t, held, heldBookings);
    google.deleteQuietly(t, cancelled, cancelledBookings);
    await s.fullResync(held.selectedCalendarId);
    await s.fullResync(cancelled.selectedCalendarId);
    await google.releasePushes(t);

    expect(await s.statuses(heldBookings)).toEqual(heldBookings.map(() => 'accepted'));
    expect((await s.holdsOf(held.selectedCalendarId, 'held')).map((h) => h.count)).toEqual([6]);
    expect(await s.statuses(cancelledBookings)).toEqual(cancelledBookings.map(() => 'cancelled'));
    expect(await s.holdsOf(cancelled.selectedCalendarId)).toHaveLength(0);
  });
});

describe('held changes: the admin routes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('need the admin key, answer 404 for unknown ids and 400 for bad ids or filters', async () => {
    await t.http.get('/api/v1/admin/held-changes').expect(401);
    await t.api.get('/api/v1/admin/held-changes').expect(401);
    await t.api.post('/api/v1/admin/held-changes/1/confirm').expect(401);
    expect((await t.admin.get('/api/v1/admin/held-changes').expect(200)).body).toEqual({ items: [], nextCursor: null });
    await t.admin.get('/api/v1/admin/held-changes?limit=0').expect(400);
    await t.admin.get('/api/v1/admin/held-changes?after=bogus').expect(400);
    await t.admin.get('/api/v1/admin/held-changes?status=nope').expect(400);
    await t.admin.get('/api/v1/admin/held-changes/999999').expect(404);
    await t.admin.post('/api/v1/admin/held-changes/999999/confirm').expect(404);
    await t.admin.post('/api/v1/admin/held-changes/999999/discard').expect(404);
    await t.admin.post('/api/v1/admin/held-changes/abc/confirm').expect(400);
    await t.admin.post('/api/v1/admin/held-changes/0/discard').expect(400);
  });
});
