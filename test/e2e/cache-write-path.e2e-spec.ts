import { CalendarCacheRepository } from '../../src/modules/sync/calendar-cache.repository.js';
import { SyncCalendarService } from '../../src/modules/sync/sync-calendar.service.js';
import { SyncPageApplier } from '../../src/modules/sync/sync-page.applier.js';
import type { SyncRun } from '../../src/modules/sync/sync-run.js';
import type { ExternalEvent } from '../../src/modules/providers/external-event.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { busyEvents, cachedGoogleCalendar } from '../support/sync-helpers.js';

/** Google's page size as the adapter asks for it (maxResults). */
const PAGE = 2500;

/**
 * The cache's write path (migration 1763800000018): a page is one statement that carries its
 * events as JSON, with no foreign key checked per row. What the key guaranteed still holds: a
 * calendar's removal removes its cached events, also when a sync is writing a page at that
 * moment, and a page written for a calendar that is gone caches nothing.
 */
describe('the cache write path', () => {
  let t: TestApp;
  let sync: SyncCalendarService;

  beforeAll(async () => {
    t = await createTestApp();
    sync = t.app.get(SyncCalendarService);
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(() => t.google.faults.clear());

  const cachedCount = async (id: number) =>
    Number(
      (await t.dataSource.query(`SELECT count(*)::int AS n FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [id]))[0]
        .n,
    );

  it('stores each event as the provider listed it: instants to the millisecond, all-day dates, ids, etag, updated', async () => {
    const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const next = new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10);
    const { host, id } = await cachedGoogleCalendar(t, [
      { summary: 'Timed', start: { dateTime: `${day}T09:15:00.250Z` }, end: { dateTime: `${day}T12:00:00.750+02:00` } },
      { summary: 'All day', start: { date: day }, end: { date: next } },
      {
        summary: 'Free',
        start: { dateTime: `${day}T12:00:00Z` },
        end: { dateTime: `${day}T13:00:00Z` },
        transparency: 'transparent',
      },
    ]);
    await sync.sync(id, { full: true });

    const rows: Array<Record<string, unknown>> = await t.dataSource.query(
      `SELECT "externalId", "iCalUID", "etag", "status", "isAllDay", "recurringEventId",
              to_char("startDate", 'YYYY-MM-DD') AS "startDate", to_char("endDate", 'YYYY-MM-DD') AS "endDate",
              (extract(epoch FROM "start") * 1000)::bigint::text AS "start", (extract(epoch FROM "end") * 1000)::bigint::text AS "end",
              (extract(epoch FROM "externalUpdatedAt") * 1000)::bigint::text AS "updated"
         FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 ORDER BY "start"`,
      [id],
    );
    const listed = t.google.listEvents(host.calendarId);
    const timed = listed.find((e) => e.summary === 'Timed')!;
    const allDay = listed.find((e) => e.summary === 'All day')!;
    expect(rows).toEqual([
      {
        externalId: allDay.id,
        iCalUID: allDay.iCalUID,
        etag: allDay.etag,
        status: 'confirmed',
        isAllDay: true,
        recurringEventId: null,
        startDate: day,
        endDate: next,
        start: String(Date.parse(`${day}T00:00:00.000Z`)),
        end: String(Date.parse(`${next}T00:00:00.000Z`)),
        updated: String(Date.parse(allDay.updated as string)),
      },
      {
        externalId: timed.id,
        iCalUID: timed.iCalUID,
        etag: timed.etag,
        status: 'confirmed',
        isAllDay: false,
        recurringEventId: null,
        startDate: null,
        endDate: null,
        start: String(Date.parse(`${day}T09:15:00.250Z`)),
        end: String(Date.parse(`${day}T12:00:00.750+02:00`)),
        updated: String(Date.parse(timed.updated as string)),
      },
    ]);
  });

  it('a calendar removed between two pages of its sync keeps no cached events', async () => {
    const { host, id } = await cachedGoogleCalendar(t, busyEvents(PAGE + 10));
    await t.dataSource.query(`DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [id]);
    t.google.faults.slowNext({ operation: 'events.list', delayMs: 400, skip: 1 });

    const run = sync.sync(id, { full: true });
    for (let i = 0; i < 200 && (await cachedCount(id)) < PAGE; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await cachedCount(id)).toBe(PAGE);
    await t.api.delete(`/api/v1/users/${host.userId}/selected-calendars/${id}`).expect(204);
    expect(await cachedCount(id)).toBe(0);

    // The second page arrives for a calendar that is gone: it caches nothing.
    await run.catch(() => undefined);
    expect(await cachedCount(id)).toBe(0);
  });

  it('keeps an all-day event while its date is still running somewhere west of UTC, in the window and through clean-up', async () => {
    const { id } = await cachedGoogleCalendar(t, []);
    const cache = t.app.get(CalendarCacheRepository);
    const DAY = 86_400_000;
    // 03:00 UTC: the cache's window starts at today's UTC midnight, yet in Los Angeles (UTC-8)
    // yesterday runs until 08:00 UTC, and yesterday's all-day event is busy until then.
    const midnight = Date.UTC(2031, 0, 2);
    const now = new Date(midnight + 3 * 3_600_000);
    const allDay = (name: string, first: number): ExternalEvent => ({
      ...event(name, new Date(first)),
      end: new Date(first + DAY),
      isAllDay: true,
      startDate: new Date(first).toISOString().slice(0, 10),
      endDate: new Date(first + DAY).toISOString().slice(0, 10),
    });
    const window = { start: new Date(midnight), end: new Date(midnight + 92 * DAY) };
    await cache.applyPage(
      t.dataSource.manager,
      id,
      [
        allDay('yesterday', midnight - DAY),
        allDay('the day before', midnight - 2 * DAY),
        event('timed, ended', new Date(midnight - 2 * 3_600_000)),
        event('timed, tonight', new Date(midnight + 20 * 3_600_000)),
      ],
      window,
      now,
    );
    const cached = async () =>
      (
        (await t.dataSource.query(
          `SELECT "externalId" FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 ORDER BY "start"`,
          [id],
        )) as Array<{ externalId: string }>
      ).map((r) => r.externalId);
    expect(await cached()).toEqual(['yesterday', 'timed, tonight']);

    await cache.applyPage(
      t.dataSource.manager,
      id,
      [event('timed, ended', new Date(midnight - 2 * 3_600_000))],
      {
        start: new Date(midnight - DAY),
        end: window.end,
      },
      now,
    );
    expect(await cached()).toEqual(['yesterday', 'timed, ended', 'timed, tonight']);
    // Clean-up at 03:00 UTC drops the timed event that ended, not yesterday's all-day event; a day
    // later, it goes too. (Clean-up covers every calendar: other tests' events count in its total.)
    expect(await cache.removeEnded(t.dataSource.manager, now)).toBeGreaterThanOrEqual(1);
    expect(await cached()).toEqual(['yesterday', 'timed, tonight']);
    expect(await cache.removeEnded(t.dataSource.manager, new Date(midnight + DAY))).toBeGreaterThanOrEqual(2);
    expect(await cached()).toEqual([]);
  });

  it('removing a calendar waits for a page write in flight, then removes what that write committed', async () => {
    const { host, id } = await cachedGoogleCalendar(t, []);
    const cache = t.app.get(CalendarCacheRepository);
    const window = { start: new Date(Date.now() - 86_400_000), end: new Date(Date.now() + 90 * 86_400_000) };
    const runner = t.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const written = await cache.applyPage(runner.manager, id, [event('in-flight-1'), event('in-flight-2')], window, new Date());
      expect(written.upserted).toBe(2);

      let removed = false;
      const removal = t.api
        .delete(`/api/v1/users/${host.userId}/selected-calendars/${id}`)
        .expect(204)
        .then(() => {
          removed = true;
        });
      await new Promise((r) => setTimeout(r, 300));
      expect(removed).toBe(false); // held by the page write's lock on the calendar's row
      await runner.commitTransaction();
      await removal;
    } finally {
      await runner.release();
    }
    expect(await cachedCount(id)).toBe(0);
  });

  it('a page for a calendar that is gone caches nothing', async () => {
    const cache = t.app.get(CalendarCacheRepository);
    const window = { start: new Date(Date.now() - 86_400_000), end: new Date(Date.now() + 90 * 86_400_000) };
    const [{ id }] = await t.dataSource.query(`SELECT coalesce(max("id"), 0) + 1000 AS id FROM "SelectedCalendar"`);
    await cache.applyPage(t.dataSource.manager, id, [event('orphan')], window, new Date());
    expect(await cachedCount(id)).toBe(0);
  });

  it('a first full sync of a calendar with nothing cached caches every page of its listing', async () => {
    const { id } = await cachedGoogleCalendar(t, busyEvents(2 * PAGE + 10));
    await t.dataSource.query(`DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [id]);
    await expect(sync.sync(id, { full: true })).resolves.toMatchObject({ kind: 'full', pages: 3 });
    expect(await cachedCount(id)).toBe(2 * PAGE + 10);
  });

  it('an event a page takes for new that the cache holds already is updated, and the rest of the page inserted', async () => {
    const { id } = await cachedGoogleCalendar(t, []);
    const cache = t.app.get(CalendarCacheRepository);
    const window = { start: new Date(Date.now() - 86_400_000), end: new Date(Date.now() + 90 * 86_400_000) };
    await cache.applyPage(t.dataSource.manager, id, [event('held-already')], window, new Date());
    const moved = event('held-already', new Date(Date.now() + 5 * 86_400_000));
    // What SyncPageApplier reads of a run that writes the cache only, for a page before the last.
    const run = {
      calendar: { id, cacheEnabled: false },
      writeCache: true,
      syncOn: false,
      window,
      startedAt: new Date(),
      provider: { name: 'google_calendar' },
    } as unknown as SyncRun;

    const recorded = await t.app.get(SyncPageApplier).apply(run, {
      listed: [moved, event('new-1'), event('new-2')],
      changed: [],
      moves: new Map(),
      full: true,
      fresh: new Set(['held-already', 'new-1', 'new-2']),
      last: false,
      cursor: null,
      brake: null,
    });

    expect(recorded).toEqual({ events: [], held: null });
    const rows: Array<{ externalId: string; start: string }> = await t.dataSource.query(
      `SELECT "externalId", (extract(epoch FROM "start") * 1000)::bigint::text AS "start"
         FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 ORDER BY "externalId"`,
      [id],
    );
    expect(rows.map((r) => r.externalId)).toEqual(['held-already', 'new-1', 'new-2']);
    expect(rows[0].start).toBe(String(moved.start!.getTime()));
  });
});

function event(id: string, start = new Date(Date.now() + 86_400_000)): ExternalEvent {
  return {
    id,
    iCalUID: `${id}@test`,
    status: 'confirmed',
    removal: null,
    start,
    end: new Date(start.getTime() + 1800_000),
    isAllDay: false,
    startDate: null,
    endDate: null,
    busy: true,
    title: id,
    description: null,
    location: null,
    attendees: [],
    organizerEmail: null,
    recurringEventId: null,
    recurring: false,
    etag: '"1"',
    updated: new Date().toISOString(),
    sequence: 0,
  };
}
