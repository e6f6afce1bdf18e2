import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { type Host, connectGoogleHost, connectOutlookHost, createUser, graphTimes, graphInstant } from '../support/fixtures.js';
import {
  type SyncedBooking,
  afterNotification,
  afterPush,
  bookAndSettle,
  enableFlagForUser,
  getBooking,
  runTask,
  settleNotifications,
  shifted,
  waitForQueueIdle,
} from '../support/sync-helpers.js';

const SYNC = 'calendar-subscription-sync';
const DEFAULTS = {
  applyReschedules: true,
  applyCancellations: true,
  applyDetails: true,
  applyAttendees: true,
  conflictPolicy: 'accept',
};

/** What the tests read of a calendar event, the same for both providers. */
interface EventState {
  start: string;
  end: string;
  title: string;
  guests: string[];
}

/** One provider: how the host edits the booking's event there, and how to read it back. */
interface ProviderSetup {
  name: string;
  source: string;
  connect(t: TestApp): Promise<Host>;
  book(t: TestApp, host: Host): Promise<SyncedBooking>;
  /** Makes an edit as the host would, and waits until calsync handled it. */
  edit(t: TestApp, host: Host, eventId: string, edit: HostEdit): Promise<void>;
  read(t: TestApp, host: Host, eventId: string): EventState | null;
  /** Waits until calsync's own writes (and their echoes) are done. */
  settle(t: TestApp): Promise<void>;
  /** How many event writes the provider refused with 412. */
  refusedWrites(t: TestApp): number;
}

type HostEdit =
  | { kind: 'move'; start: string; end: string }
  | { kind: 'rename'; title: string }
  | { kind: 'guests'; email: string }
  | { kind: 'delete' };

const google: ProviderSetup = {
  name: 'Google',
  source: 'google_calendar',
  connect: (t) => connectGoogleHost(t),
  book: (t, host) => bookAndSettle(t, host),
  edit: (t, host, eventId, edit) =>
    afterPush(t, () => {
      if (edit.kind === 'delete') return t.google.deleteEvent(host.calendarId, eventId);
      return t.google.updateEvent(
        host.calendarId,
        eventId,
        edit.kind === 'move'
          ? { start: { dateTime: edit.start }, end: { dateTime: edit.end } }
          : edit.kind === 'rename'
            ? { summary: edit.title }
            : { attendees: [{ email: edit.email }] },
      );
    }),
  read(t, host, eventId) {
    const event = t.google.getEvent(host.calendarId, eventId);
    if (!event || event.status === 'cancelled') return null;
    return {
      start: new Date(event.start!.dateTime!).toISOString(),
      end: new Date(event.end!.dateTime!).toISOString(),
      title: event.summary ?? '',
      guests: (event.attendees ?? []).map((a) => a.email!.toLowerCase()).sort(),
    };
  },
  settle: (t) => waitForQueueIdle(t),
  refusedWrites: (t) => t.google.calls.filter((c) => c.operation === 'events.patch' && c.status === 412).length,
};

const outlook: ProviderSetup = {
  name: 'Outlook',
  source: 'office365_calendar',
  connect: (t) => connectOutlookHost(t),
  async book(t, host) {
    const booking = await bookAndSettle(t, host);
    await settleNotifications(t);
    return booking;
  },
  edit: (t, _host, eventId, edit) =>
    afterNotification(t, () => {
      if (edit.kind === 'delete') return t.microsoft.deleteEvent(eventId);
      return t.microsoft.updateEvent(
        eventId,
        edit.kind === 'move'
          ? graphTimes(edit.start, edit.end)
          : edit.kind === 'rename'
            ? { subject: edit.title }
            : { attendees: [{ type: 'required', emailAddress: { address: edit.email, name: null as unknown as string } }] },
      );
    }),
  read(t, _host, eventId) {
    const event = t.microsoft.getEvent(eventId);
    if (!event) return null;
    return {
      start: graphInstant(event.start.dateTime),
      end: graphInstant(event.end.dateTime),
      title: event.subject,
      guests: event.attendees.map((a) => a.emailAddress.address!.toLowerCase()).sort(),
    };
  },
  settle: (t) => settleNotifications(t),
  refusedWrites: (t) => t.microsoft.calls.filter((c) => c.operation === 'events.update' && c.status === 412).length,
};

describe('sync preferences', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true });
  });
  afterAll(async () => {
    await t.close();
  });

  const newUser = () => createUser(t, 'prefs');
  const newTeam = async (parentId?: number) => {
    const res = await t.api
      .post('/api/v1/teams')
      .send({ name: `team ${Math.random().toString(36).slice(2)}`, ...(parentId ? { parentId } : {}) })
      .expect(201);
    return res.body.id as number;
  };
  const join = (teamId: number, userId: number) => t.api.put(`/api/v1/teams/${teamId}/members/${userId}`).expect(204);

  describe('API', () => {
    it('answers the defaults for a user and a team that set nothing', async () => {
      const userId = await newUser();
      const teamId = await newTeam();
      expect((await t.api.get(`/api/v1/users/${userId}/sync-preferences`).expect(200)).body).toEqual(DEFAULTS);
      expect((await t.api.get(`/api/v1/teams/${teamId}/sync-preferences`).expect(200)).body).toEqual(DEFAULTS);
    });

    it('stores a subset; the other fields stay; null clears one', async () => {
      const userId = await newUser();
      const put = await t.api.put(`/api/v1/users/${userId}/sync-preferences`).send({ applyDetails: false }).expect(200);
      expect(put.body).toEqual({ ...DEFAULTS, applyDetails: false });
      await t.api.put(`/api/v1/users/${userId}/sync-preferences`).send({ conflictPolicy: 'flag' }).expect(200);
      expect((await t.api.get(`/api/v1/users/${userId}/sync-preferences`).expect(200)).body).toEqual({
        ...DEFAULTS,
        applyDetails: false,
        conflictPolicy: 'flag',
      });
      await t.api.put(`/api/v1/users/${userId}/sync-preferences`).send({ applyDetails: null }).expect(200);
      expect((await t.api.get(`/api/v1/users/${userId}/sync-preferences`).expect(200)).body).toEqual({
        ...DEFAULTS,
        conflictPolicy: 'flag',
      });
    });

    it('concurrent PUTs of different fields both stay', async () => {
      const userId = await newUser();
      const fields = ['applyReschedules', 'applyCancellations', 'applyDetails', 'applyAttendees'];
      await Promise.all(
        fields.map((field) =>
          t.api
            .put(`/api/v1/users/${userId}/sync-preferences`)
            .send({ [field]: false })
            .expect(200),
        ),
      );
      expect((await t.api.get(`/api/v1/users/${userId}/sync-preferences`).expect(200)).body).toEqual({
        ...DEFAULTS,
        applyReschedules: false,
        applyCancellations: false,
        applyDetails: false,
        applyAttendees: false,
      });
    });

    it('refuses unknown fields and bad values with a problem+json 400', async () => {
      const userId = await newUser();
      const teamId = await newTeam();
      for (const [path, body] of [
        [`/api/v1/users/${userId}/sync-preferences`, { applyEverything: false }],
        [`/api/v1/users/${userId}/sync-preferences`, { applyDetails: 'no' }],
        [`/api/v1/teams/${teamId}/sync-preferences`, { conflictPolicy: 'ignore' }],
        [`/api/v1/teams/${teamId}/sync-preferences`, { applyReschedules: 0 }],
      ] as const) {
        const res = await t.api.put(path).send(body).expect(400);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.body.errors[0].field).toBe(Object.keys(body)[0]);
      }
      expect((await t.api.get(`/api/v1/users/${userId}/sync-preferences`).expect(200)).body).toEqual(DEFAULTS);
    });

    it('answers 404 for an unknown user or team, and 400 for a malformed id', async () => {
      await t.api.get('/api/v1/users/999999/sync-preferences').expect(404);
      await t.api.put('/api/v1/users/999999/sync-preferences').send({ applyDetails: false }).expect(404);
      await t.api.get('/api/v1/teams/999999/sync-preferences').expect(404);
      await t.api.put('/api/v1/teams/999999/sync-preferences').send({ applyDetails: false }).expect(404);
      await t.admin.get('/api/v1/admin/users/999999/sync-preferences').expect(404);
      await t.api.get('/api/v1/users/abc/sync-preferences').expect(400);
    });

    it('needs the application key, and the admin key for the explanation', async () => {
      const userId = await newUser();
      await t.http.get(`/api/v1/users/${userId}/sync-preferences`).expect(401);
      await t.api.get(`/api/v1/admin/users/${userId}/sync-preferences`).expect(401);
    });
  });

  describe('resolution', () => {
    it('field by field: the user over the team over the parent team over the defaults, explained with its source', async () => {
      const userId = await newUser();
      const parent = await newTeam();
      const team = await newTeam(parent);
      await join(team, userId);
      await t.api
        .put(`/api/v1/teams/${parent}/sync-preferences`)
        .send({ applyCancellations: false, conflictPolicy: 'revert' })
        .expect(200);
      await t.api.put(`/api/v1/teams/${team}/sync-preferences`).send({ applyAttendees: false }).expect(200);
      await t.api
        .put(`/api/v1/users/${userId}/sync-preferences`)
        .send({ applyDetails: false, conflictPolicy: 'accept' })
        .expect(200);

      expect((await t.api.get(`/api/v1/users/${userId}/sync-preferences`).expect(200)).body).toEqual({
        applyReschedules: true,
        applyCancellations: false,
        applyDetails: false,
        applyAttendees: false,
        conflictPolicy: 'accept',
      });
      expect((await t.admin.get(`/api/v1/admin/users/${userId}/sync-preferences`).expect(200)).body).toEqual({
        applyReschedules: { value: true, source: 'default' },
        applyCancellations: { value: false, source: 'team', teamId: parent },
        applyDetails: { value: false, source: 'user' },
        applyAttendees: { value: false, source: 'team', teamId: team },
        conflictPolicy: { value: 'accept', source: 'user' },
      });
      // The team answers what a member who set nothing gets (its parent counts); the parent only its own.
      expect((await t.api.get(`/api/v1/teams/${team}/sync-preferences`).expect(200)).body).toEqual({
        ...DEFAULTS,
        applyCancellations: false,
        applyAttendees: false,
        conflictPolicy: 'revert',
      });
      expect((await t.api.get(`/api/v1/teams/${parent}/sync-preferences`).expect(200)).body).toEqual({
        ...DEFAULTS,
        applyCancellations: false,
        conflictPolicy: 'revert',
      });
    });

    it('teams that disagree: the more restrictive value wins, whichever team is nearer', async () => {
      const userId = await newUser();
      const parent = await newTeam();
      const child = await newTeam(parent);
      const other = await newTeam();
      await join(child, userId);
      await join(other, userId);
      await t.api
        .put(`/api/v1/teams/${parent}/sync-preferences`)
        .send({ applyReschedules: false, conflictPolicy: 'flag' })
        .expect(200);
      await t.api.put(`/api/v1/teams/${child}/sync-preferences`).send({ applyReschedules: true, applyDetails: true }).expect(200);
      await t.api
        .put(`/api/v1/teams/${other}/sync-preferences`)
        .send({ applyDetails: false, conflictPolicy: 'revert' })
        .expect(200);
      expect((await t.admin.get(`/api/v1/admin/users/${userId}/sync-preferences`).expect(200)).body).toMatchObject({
        applyReschedules: { value: false, source: 'team', teamId: parent },
        applyDetails: { value: false, source: 'team', teamId: other },
        conflictPolicy: { value: 'revert', source: 'team', teamId: other },
      });
      // The user's own setting still wins over every team.
      await t.api.put(`/api/v1/users/${userId}/sync-preferences`).send({ applyReschedules: true }).expect(200);
      expect((await t.admin.get(`/api/v1/admin/users/${userId}/sync-preferences`).expect(200)).body.applyReschedules).toEqual({
        value: true,
        source: 'user',
      });
    });
  });

  describe.each([google, outlook])('calendar changes switched off ($name)', (setup) => {
    let host: Host;

    beforeEach(async () => {
      t.google.faults.clear();
      t.microsoft.faults.clear();
      host = await setup.connect(t);
      await enableFlagForUser(t, SYNC, host.userId);
      await runTask(t, 'subscribe-calendars');
      await setup.settle(t);
    });

    const setPreferences = (body: Record<string, unknown>) =>
      t.api.put(`/api/v1/users/${host.userId}/sync-preferences`).send(body).expect(200);

    const outcomes = async (bookingId: number): Promise<string[]> =>
      (
        await t.dataSource.query(`SELECT "outcome" FROM "ExternalEventChange" WHERE "bookingId" = $1 ORDER BY "id"`, [bookingId])
      ).map((r: { outcome: string }) => r.outcome);

    it.each([
      ['applyReschedules', 'move'],
      ['applyDetails', 'rename'],
      ['applyAttendees', 'guests'],
      ['applyCancellations', 'delete'],
    ] as const)(
      '%s off: the %s is not applied, the history shows it ignored once, the event stays as the host made it',
      async (preference, kind) => {
        const booking = await setup.book(t, host);
        const before = await getBooking(t, booking.id);
        await setPreferences({ [preference]: false });
        const edit: HostEdit =
          kind === 'move'
            ? { kind, start: shifted(booking.startTime, 120), end: shifted(booking.endTime, 120) }
            : kind === 'rename'
              ? { kind, title: 'Renamed by the host' }
              : kind === 'guests'
                ? { kind, email: 'other.guest@example.com' }
                : { kind };
        await setup.edit(t, host, booking.eventId, edit);
        await setup.settle(t);

        const after = await getBooking(t, booking.id);
        expect(after).toMatchObject({
          status: 'accepted',
          startTime: before.startTime,
          endTime: before.endTime,
          title: before.title,
          attendees: before.attendees,
        });
        const ignored = after.history.filter((h) => h.action === 'ignored');
        expect(ignored).toHaveLength(1);
        expect(ignored[0]).toMatchObject({ source: setup.source, changes: { preference } });
        expect(after.history.map((h) => h.action)).toEqual(['created', 'ignored']);
        if (kind === 'move') expect(ignored[0].changes).toMatchObject({ to: { startTime: edit.kind === 'move' && edit.start } });
        if (kind === 'rename') expect(ignored[0].changes).toMatchObject({ title: { to: 'Renamed by the host' } });
        if (kind === 'guests') expect(ignored[0].changes).toMatchObject({ attendees: { added: ['other.guest@example.com'] } });
        expect(await outcomes(booking.id)).toEqual([`ignored: preference ${preference} is off`]);

        const event = setup.read(t, host, booking.eventId);
        if (edit.kind === 'delete') expect(event).toBeNull();
        else if (edit.kind === 'move') expect(event).toMatchObject({ start: edit.start, end: edit.end });
        else if (edit.kind === 'rename') expect(event?.title).toBe(edit.title);
        else expect(event?.guests).toEqual([edit.email]);
      },
      40_000,
    );

    it('after an ignored rename, the next API change goes through at once and writes only what it changed; switched back on, the next rename applies', async () => {
      const booking = await setup.book(t, host);
      await setPreferences({ applyDetails: false });
      await setup.edit(t, host, booking.eventId, { kind: 'rename', title: 'Host title' });
      const refusedBefore = setup.refusedWrites(t);

      const start = shifted(booking.startTime, 60);
      const end = shifted(booking.endTime, 60);
      await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: start, endTime: end }).expect(200);
      await expectEventually(() => expect(setup.read(t, host, booking.eventId)).toMatchObject({ start, end }));
      await setup.settle(t);
      // The host's title stays in the calendar (not "fixed" back), the booking keeps its own, and no write was refused.
      expect(setup.read(t, host, booking.eventId)).toMatchObject({ start, end, title: 'Host title' });
      expect(setup.refusedWrites(t)).toBe(refusedBefore);
      let after = await getBooking(t, booking.id);
      expect(after).toMatchObject({ title: 'Sync test', startTime: start, endTime: end });
      expect(after.history.map((h) => [h.action, h.source])).toEqual([
        ['created', 'api'],
        ['ignored', setup.source],
        ['rescheduled', 'api'],
      ]);

      // Switched back on: takes effect for the next change, no restart.
      await setPreferences({ applyDetails: true });
      await setup.edit(t, host, booking.eventId, { kind: 'rename', title: 'Host title, again' });
      after = await getBooking(t, booking.id);
      expect(after.title).toBe('Host title, again');
      expect(after.history.at(-1)).toMatchObject({
        action: 'updated',
        source: setup.source,
        changes: { title: { from: 'Sync test', to: 'Host title, again' } },
      });
    }, 60_000);

    it('after an ignored move, an API reschedule is written; the event is not moved back by anything else', async () => {
      const booking = await setup.book(t, host);
      await setPreferences({ applyReschedules: false });
      const hostStart = shifted(booking.startTime, 180);
      const hostEnd = shifted(booking.endTime, 180);
      await setup.edit(t, host, booking.eventId, { kind: 'move', start: hostStart, end: hostEnd });
      expect(setup.read(t, host, booking.eventId)).toMatchObject({ start: hostStart, end: hostEnd });
      const refusedBefore = setup.refusedWrites(t);

      const start = shifted(booking.startTime, 30);
      const end = shifted(booking.endTime, 30);
      await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: start, endTime: end }).expect(200);
      await expectEventually(() => expect(setup.read(t, host, booking.eventId)).toMatchObject({ start, end }));
      await setup.settle(t);
      expect(setup.refusedWrites(t)).toBe(refusedBefore);
      const after = await getBooking(t, booking.id);
      expect(after).toMatchObject({ startTime: start, endTime: end });
      expect(after.history.map((h) => h.action)).toEqual(['created', 'ignored', 'rescheduled']);
    }, 60_000);

    it('after an ignored deletion, the booking stays and an API change does not bring the event back', async () => {
      const booking = await setup.book(t, host);
      await setPreferences({ applyCancellations: false });
      await setup.edit(t, host, booking.eventId, { kind: 'delete' });
      const start = shifted(booking.startTime, 30);
      const end = shifted(booking.endTime, 30);
      await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send({ startTime: start, endTime: end }).expect(200);
      await setup.settle(t);
      const after = await getBooking(t, booking.id);
      expect(after).toMatchObject({ status: 'accepted', startTime: start, endTime: end });
      expect(setup.read(t, host, booking.eventId)).toBeNull();
      expect(after.history.map((h) => h.action)).toEqual(['created', 'ignored', 'rescheduled']);
    }, 60_000);
  });

  it('a team preference changed takes effect for the next calendar change, without a restart', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const team = await newTeam();
    await join(team, host.userId);
    const booking = await bookAndSettle(t, host);
    await t.api.put(`/api/v1/teams/${team}/sync-preferences`).send({ applyReschedules: false }).expect(200);
    const first = { start: shifted(booking.startTime, 60), end: shifted(booking.endTime, 60) };
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, { start: { dateTime: first.start }, end: { dateTime: first.end } }),
    );
    expect(await getBooking(t, booking.id)).toMatchObject({ startTime: booking.startTime });

    await t.api.put(`/api/v1/teams/${team}/sync-preferences`).send({ applyReschedules: null }).expect(200);
    const second = { start: shifted(booking.startTime, 120), end: shifted(booking.endTime, 120) };
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, {
        start: { dateTime: second.start },
        end: { dateTime: second.end },
      }),
    );
    const after = await getBooking(t, booking.id);
    expect(after).toMatchObject({ startTime: second.start, endTime: second.end });
    expect(after.history.map((h) => h.action)).toEqual(['created', 'ignored', 'rescheduled']);
  }, 40_000);
});
