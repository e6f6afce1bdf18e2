import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { type Host, connectGoogleHost, connectOutlookHost } from '../support/fixtures.js';
import { afterNotification, enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

const CACHE = 'calendar-subscription-cache';
const SYNC = 'calendar-subscription-sync';

function day(offset: number, hour = 0, minute = 0): string {
  const d = new Date();
  d.setUTCHours(hour, minute, 0, 0);
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString();
}

/** A Graph dateTimeTimeZone for an instant. */
const utc = (iso: string) => ({ dateTime: iso, timeZone: 'UTC' });

/** How many hours America/New_York is behind UTC at the start of a date (4 in summer time, 5 otherwise). */
function newYorkOffsetHours(date: string): number {
  const offset = new Date(`${date}T05:00:00Z`).toLocaleString('en-US', {
    timeZone: 'America/New_York',
    timeZoneName: 'shortOffset',
  });
  return offset.includes('GMT-4') ? 4 : 5;
}

describe('Outlook busy times from the cache, live from Graph, or both', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true, env: { SYNC_WINDOW_DAYS: '30' } });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => {
    t.microsoft.faults.clear();
    t.google.faults.clear();
  });

  async function cachedHost(options: { timeZone?: string } = {}): Promise<Host & { selectedId: number }> {
    const host = await connectOutlookHost(t, { destination: false, ...options });
    await enableFlagForUser(t, CACHE, host.userId);
    const selected = await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    return { ...host, selectedId: selected.body.id };
  }

  const busy = (host: { userId: number }, start: string, end: string) =>
    t.api.get(`/api/v1/users/${host.userId}/busy-times`).query({ start, end }).expect(200);

  /** Graph calls that read busy time (the live path). */
  const liveReads = () => t.microsoft.callCount('calendarView') + t.microsoft.callCount('getSchedule');

  it('answers from the cache without calling Graph, the same as the live answer, for every kind of Outlook event', async () => {
    const host = await cachedHost({ timeZone: 'America/New_York' });
    const cal = host.calendarId;
    const invitation = { organizer: { emailAddress: { address: 'boss@example.com', name: 'Boss' } } };
    t.microsoft.createEvent(cal, { subject: 'A', start: utc(day(1, 9)), end: utc(day(1, 10)) });
    t.microsoft.createEvent(cal, { subject: 'B', start: utc(day(1, 9, 30)), end: utc(day(1, 11)) });
    t.microsoft.createEvent(cal, { subject: 'free', showAs: 'free', start: utc(day(2, 8)), end: utc(day(2, 9)) });
    t.microsoft.createEvent(cal, {
      subject: 'declined',
      ...invitation,
      responseStatus: { response: 'declined' },
      start: utc(day(2, 10)),
      end: utc(day(2, 11)),
    });
    t.microsoft.createEvent(cal, {
      subject: 'accepted',
      ...invitation,
      responseStatus: { response: 'accepted' },
      start: utc(day(2, 11, 30)),
      end: utc(day(2, 11, 45)),
    });
    t.microsoft.createEvent(cal, { subject: 'tentative', showAs: 'tentative', start: utc(day(2, 12)), end: utc(day(2, 13)) });
    t.microsoft.createEvent(cal, { subject: 'oof', showAs: 'oof', start: utc(day(3, 8)), end: utc(day(3, 12)) });
    t.microsoft.createEvent(cal, {
      subject: 'cancelled by the organizer',
      ...invitation,
      isCancelled: true,
      start: utc(day(3, 14)),
      end: utc(day(3, 15)),
    });
    t.microsoft.createEvent(cal, {
      subject: 'daily',
      start: utc(day(4, 7)),
      end: utc(day(4, 7, 30)),
      recurrence: {
        pattern: { type: 'daily', interval: 1 },
        range: { type: 'numbered', startDate: day(4).slice(0, 10), numberOfOccurrences: 3, recurrenceTimeZone: 'UTC' },
      },
    });
    // All-day, made in another zone than the user's: it blocks the day in the user's zone.
    const date = day(8).slice(0, 10);
    const next = day(9).slice(0, 10);
    t.microsoft.createEvent(cal, {
      subject: 'Holiday',
      isAllDay: true,
      start: { dateTime: `${date}T00:00:00`, timeZone: 'Europe/Berlin' },
      end: { dateTime: `${next}T00:00:00`, timeZone: 'Europe/Berlin' },
    });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);

    const timed = [
      { start: day(1, 9), end: day(1, 11) },
      { start: day(2, 11, 30), end: day(2, 11, 45) },
      { start: day(2, 12), end: day(2, 13) },
      { start: day(3, 8), end: day(3, 12) },
      { start: day(4, 7), end: day(4, 7, 30) },
      { start: day(5, 7), end: day(5, 7, 30) },
      { start: day(6, 7), end: day(6, 7, 30) },
    ];
    const allDay = {
      start: `${date}T0${newYorkOffsetHours(date)}:00:00.000Z`,
      end: `${next}T0${newYorkOffsetHours(next)}:00:00.000Z`,
    };

    t.microsoft.resetCalls();
    for (let i = 0; i < 3; i++) {
      const whole = await busy(host, day(0), day(20));
      expect(whole.body).toEqual({ source: 'cache', busy: [...timed, allDay] });
    }
    const cached = await busy(host, day(0), day(8));
    expect(cached.body).toEqual({ source: 'cache', busy: timed });
    expect(t.microsoft.calls).toEqual([]);

    // The same range answered live from Graph, with the cache flag off.
    await enableFlagForUser(t, CACHE, host.userId, false);
    const live = await expectEventually(async () => {
      const res = await busy(host, day(0), day(20));
      expect(res.body.source).toBe('live');
      return res.body;
    });
    // All-day events included: live and cached answers place them in the user's zone alike.
    expect(live).toEqual({ source: 'live', busy: [...timed, allDay] });
    expect(liveReads()).toBeGreaterThanOrEqual(1);
  });

  it('follows changes made in Outlook once their notifications arrive, never answering a stale cache', async () => {
    const host = await cachedHost();
    const cal = host.calendarId;
    const c = t.microsoft.createEvent(cal, { subject: 'C', start: utc(day(2, 14)), end: utc(day(2, 15)) });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);

    const range = { start: day(0), end: day(20) };
    const check = async (expected: Array<{ start: string; end: string }>) => {
      const before = liveReads();
      const res = await busy(host, range.start, range.end);
      expect(res.body).toEqual({ source: 'cache', busy: expected });
      expect(liveReads()).toBe(before);
    };
    await check([{ start: day(2, 14), end: day(2, 15) }]);

    let e: { id: string } = { id: '' };
    await afterNotification(t, () => {
      e = t.microsoft.createEvent(cal, { subject: 'E', start: utc(day(5, 12)), end: utc(day(5, 13)) });
    });
    await check([
      { start: day(2, 14), end: day(2, 15) },
      { start: day(5, 12), end: day(5, 13) },
    ]);
    await afterNotification(t, () => t.microsoft.updateEvent(c.id, { start: utc(day(6, 16)), end: utc(day(6, 17)) }));
    await check([
      { start: day(5, 12), end: day(5, 13) },
      { start: day(6, 16), end: day(6, 17) },
    ]);
    await afterNotification(t, () => t.microsoft.updateEvent(e.id, { showAs: 'free' }));
    await check([{ start: day(6, 16), end: day(6, 17) }]);
    await afterNotification(t, () => t.microsoft.updateEvent(e.id, { showAs: 'tentative' }));
    await check([
      { start: day(5, 12), end: day(5, 13) },
      { start: day(6, 16), end: day(6, 17) },
    ]);
    // Moved past the cached window (30 days): Graph reports it removed from the window's delta.
    await afterNotification(t, () => t.microsoft.updateEvent(c.id, { start: utc(day(40, 9)), end: utc(day(40, 10)) }));
    const rows: Array<{ count: string }> = await t.dataSource.query(
      `SELECT count(*)::text AS count FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 AND "externalId" = $2`,
      [host.selectedId, c.id],
    );
    expect(rows[0].count).toBe('0');
    await check([{ start: day(5, 12), end: day(5, 13) }]);
    await afterNotification(t, () => t.microsoft.deleteEvent(c.id));
    await check([{ start: day(5, 12), end: day(5, 13) }]);
    // An invitation the owner accepted, then declined.
    let invitation: { id: string } = { id: '' };
    await afterNotification(t, () => {
      invitation = t.microsoft.createEvent(cal, {
        subject: 'invitation',
        organizer: { emailAddress: { address: 'boss@example.com' } },
        responseStatus: { response: 'accepted' },
        start: utc(day(3, 9)),
        end: utc(day(3, 10)),
      });
    });
    await check([
      { start: day(3, 9), end: day(3, 10) },
      { start: day(5, 12), end: day(5, 13) },
    ]);
    await afterNotification(t, () => t.microsoft.updateEvent(invitation.id, { responseStatus: { response: 'declined' } }));
    await check([{ start: day(5, 12), end: day(5, 13) }]);

    // A series, then one of its occurrences deleted and another moved.
    let series: { id: string } = { id: '' };
    await afterNotification(t, () => {
      series = t.microsoft.createEvent(cal, {
        subject: 'standup',
        start: utc(day(7, 8)),
        end: utc(day(7, 8, 15)),
        recurrence: {
          pattern: { type: 'daily', interval: 1 },
          range: { type: 'numbered', startDate: day(7).slice(0, 10), numberOfOccurrences: 3, recurrenceTimeZone: 'UTC' },
        },
      });
    });
    await check([
      { start: day(5, 12), end: day(5, 13) },
      { start: day(7, 8), end: day(7, 8, 15) },
      { start: day(8, 8), end: day(8, 8, 15) },
      { start: day(9, 8), end: day(9, 8, 15) },
    ]);
    const occurrences = t.microsoft.calendarView(cal, day(7), day(10)).filter((o) => o.seriesMasterId === series.id);
    expect(occurrences).toHaveLength(3);
    await afterNotification(t, () => t.microsoft.deleteEvent(occurrences[1].id));
    await afterNotification(t, () =>
      t.microsoft.updateEvent(occurrences[2].id, { start: utc(day(9, 10)), end: utc(day(9, 11)) }),
    );
    await check([
      { start: day(5, 12), end: day(5, 13) },
      { start: day(7, 8), end: day(7, 8, 15) },
      { start: day(9, 10), end: day(9, 11) },
    ]);
    // The series moved as a whole (which drops its exceptions, as Outlook does), then deleted.
    await afterNotification(t, () => t.microsoft.updateEvent(series.id, { start: utc(day(7, 15)), end: utc(day(7, 15, 30)) }));
    await check([
      { start: day(5, 12), end: day(5, 13) },
      { start: day(7, 15), end: day(7, 15, 30) },
      { start: day(8, 15), end: day(8, 15, 30) },
      { start: day(9, 15), end: day(9, 15, 30) },
    ]);
    await afterNotification(t, () => t.microsoft.deleteEvent(series.id));
    await check([{ start: day(5, 12), end: day(5, 13) }]);
  });

  it('answers the part of a range beyond the cached window live, and says so', async () => {
    const host = await cachedHost();
    t.microsoft.createEvent(host.calendarId, { subject: 'near', start: utc(day(2, 9)), end: utc(day(2, 10)) });
    t.microsoft.createEvent(host.calendarId, { subject: 'far', start: utc(day(45, 9)), end: utc(day(45, 10)) });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    t.microsoft.resetCalls();
    const res = await busy(host, day(0), day(60));
    expect(res.body).toEqual({
      source: 'mixed',
      busy: [
        { start: day(2, 9), end: day(2, 10) },
        { start: day(45, 9), end: day(45, 10) },
      ],
    });
    const views = t.microsoft.calls.filter((c) => c.operation === 'calendarView');
    // Only the part past the cached window (day 30 on) is asked of Graph, a day wider on each side
    // so that all-day events placed in the user's zone at its edges are seen.
    expect(views.map((c) => [c.query.startDateTime, c.query.endDateTime])).toEqual([[day(29), day(61)]]);
  });

  it('serves a calendar whose last sync is too old live, and resyncs it in the background', async () => {
    const host = await cachedHost();
    t.microsoft.createEvent(host.calendarId, { subject: 'x', start: utc(day(1, 9)), end: utc(day(1, 10)) });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    await t.dataSource.query(`UPDATE "SelectedCalendar" SET "syncedAt" = now() - interval '1 day' WHERE "id" = $1`, [
      host.selectedId,
    ]);
    t.microsoft.resetCalls();
    const res = await busy(host, day(0), day(7));
    expect(res.body).toEqual({ source: 'live', busy: [{ start: day(1, 9), end: day(1, 10) }] });
    expect(liveReads()).toBe(1);
    await expectEventually(async () => {
      const rows: Array<{ syncedAt: Date }> = await t.dataSource.query(
        `SELECT "syncedAt" FROM "SelectedCalendar" WHERE "id" = $1`,
        [host.selectedId],
      );
      expect(Date.now() - rows[0].syncedAt.getTime()).toBeLessThan(60_000);
    });
    t.microsoft.resetCalls();
    expect((await busy(host, day(0), day(7))).body).toEqual({ source: 'cache', busy: [{ start: day(1, 9), end: day(1, 10) }] });
    expect(liveReads()).toBe(0);
  });

  it('merges a user’s Google and Outlook calendars, cached or live', async () => {
    const host = await connectGoogleHost(t, { destination: false });
    const outlook = t.microsoft.addAccount({ email: host.email });
    const credential = await t.api
      .post(`/api/v1/users/${host.userId}/credentials`)
      .send({
        provider: 'office365_calendar',
        accessToken: outlook.accessToken,
        refreshToken: outlook.refreshToken,
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      })
      .expect(201);
    for (const [credentialId, externalId] of [
      [host.credentialId, host.calendarId],
      [credential.body.id, outlook.calendarId],
    ] as const) {
      await t.api.post(`/api/v1/users/${host.userId}/selected-calendars`).send({ credentialId, externalId }).expect(201);
    }
    t.google.createEvent(host.calendarId, { summary: 'google', start: { dateTime: day(1, 9) }, end: { dateTime: day(1, 10) } });
    t.microsoft.createEvent(outlook.calendarId, { subject: 'outlook', start: utc(day(1, 9, 30)), end: utc(day(1, 11)) });
    t.microsoft.createEvent(outlook.calendarId, { subject: 'later', start: utc(day(2, 14)), end: utc(day(2, 15)) });
    const expected = [
      { start: day(1, 9), end: day(1, 11) },
      { start: day(2, 14), end: day(2, 15) },
    ];

    const live = await busy(host, day(0), day(7));
    expect(live.body).toEqual({ source: 'live', busy: expected });

    // Through the admin API, which this instance's flag cache sees at once.
    await t.admin.put(`/api/v1/admin/features/${CACHE}/users/${host.userId}`).send({}).expect(200);
    // Only the Google calendar gets a channel: Graph refuses the Outlook subscription this time.
    t.microsoft.faults.failNext({ operation: 'subscriptions.create', status: 403, code: 'ErrorAccessDenied', count: 1 });
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ watched: 1, failed: 1 });
    await waitForQueueIdle(t);
    t.google.resetCalls();
    t.microsoft.resetCalls();
    const mixed = await busy(host, day(0), day(7));
    expect(mixed.body).toEqual({ source: 'mixed', busy: expected });
    expect(t.google.callCount('freebusy.query')).toBe(0);
    expect(liveReads()).toBe(1);

    // The retry subscribes the Outlook calendar too: everything from the cache.
    await t.dataSource.query(`UPDATE "SelectedCalendar" SET "nextSubscribeAttemptAt" = NULL WHERE "credentialId" = $1`, [
      credential.body.id,
    ]);
    expect(await runTask(t, 'subscribe-calendars')).toMatchObject({ watched: 1, failed: 0 });
    await waitForQueueIdle(t);
    t.google.resetCalls();
    t.microsoft.resetCalls();
    const cached = await busy(host, day(0), day(7));
    expect(cached.body).toEqual({ source: 'cache', busy: expected });
    expect(t.google.callCount('freebusy.query')).toBe(0);
    expect(t.microsoft.calls).toEqual([]);
  });

  /** The stored delta state of a calendar. */
  const cursorOf = async (selectedId: number) =>
    (
      (await t.dataSource.query(
        `SELECT "syncToken", "syncCursorWindowEnd", "cacheCoveredUntil" FROM "SelectedCalendar" WHERE "id" = $1`,
        [selectedId],
      )) as Array<{ syncToken: string | null; syncCursorWindowEnd: Date | null; cacheCoveredUntil: Date | null }>
    )[0];

  /** The delta calls made for a calendar since the last reset: a full round starts from the window, a later one from a deltaLink. */
  const deltaCalls = (calendarId: string) =>
    t.microsoft.calls
      .filter((c) => c.operation === 'calendarView.delta' && c.calendarId === calendarId)
      .map((c) => ({
        window: typeof c.query.startDateTime === 'string' && typeof c.query.endDateTime === 'string',
        deltaToken: Object.keys(c.query).some((k) => k.toLowerCase() === '$deltatoken'),
      }));

  it('re-anchors the window-bound delta once the window slid: a full round finds an old event now inside it', async () => {
    const host = await cachedHost();
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const anchored = await cursorOf(host.selectedId);
    expect(anchored.syncCursorWindowEnd!.getTime()).toBe(Date.parse(day(30)));
    // As if the last full round were two days old: the window has slid past what it covered.
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "syncCursorWindowEnd" = "syncCursorWindowEnd" - interval '2 days',
              "cacheCoveredUntil" = "cacheCoveredUntil" - interval '2 days' WHERE "id" = $1`,
      [host.selectedId],
    );
    t.microsoft.seedEvents(host.calendarId, [{ subject: 'old', start: utc(day(29, 9)), end: utc(day(29, 10)) }]);
    t.microsoft.resetCalls();
    const before = await busy(host, day(0), day(30));
    expect(before.body).toEqual({ source: 'mixed', busy: [{ start: day(29, 9), end: day(29, 10) }] });
    expect(liveReads()).toBe(1);

    t.microsoft.resetCalls();
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    expect(deltaCalls(host.calendarId)).toEqual([{ window: true, deltaToken: false }]);
    const reanchored = await cursorOf(host.selectedId);
    expect(reanchored.syncCursorWindowEnd!.getTime()).toBe(Date.parse(day(30)));
    expect(reanchored.cacheCoveredUntil!.getTime()).toBe(Date.parse(day(30)));
    expect(reanchored.syncToken).not.toBe(anchored.syncToken);

    t.microsoft.resetCalls();
    const after = await busy(host, day(0), day(30));
    expect(after.body).toEqual({ source: 'cache', busy: [{ start: day(29, 9), end: day(29, 10) }] });
    expect(t.microsoft.calls).toEqual([]);

    // The next resync follows the new deltaLink.
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    expect(deltaCalls(host.calendarId)).toEqual([{ window: false, deltaToken: true }]);
  });

  it('re-anchors the delta of a calendar followed only for its bookings too', async () => {
    const host = await connectOutlookHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const rows: Array<{ id: number }> = await t.dataSource.query(
      `SELECT "id" FROM "SelectedCalendar" WHERE "credentialId" = $1 AND "externalId" = $2`,
      [host.credentialId, host.calendarId],
    );
    const selectedId = rows[0].id;
    expect((await cursorOf(selectedId)).cacheCoveredUntil).toBeNull();
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "syncCursorWindowEnd" = "syncCursorWindowEnd" - interval '2 days' WHERE "id" = $1`,
      [selectedId],
    );
    t.microsoft.resetCalls();
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    expect(deltaCalls(host.calendarId)).toEqual([{ window: true, deltaToken: false }]);
    expect((await cursorOf(selectedId)).syncCursorWindowEnd!.getTime()).toBe(Date.parse(day(30)));
  });
});
