import { SyncCalendarService } from '../../src/modules/sync/sync-calendar.service.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { busyEvents, cachedGoogleCalendar } from '../support/sync-helpers.js';

/** Google's page size as the adapter asks for it (maxResults). */
const PAGE = 2500;
const PROVIDER_TIMEOUT_MS = 2000;

/**
 * A sync asks for the next page of a listing while it writes the current one (the provider's
 * paging and the database overlap). The look-ahead is read-only: a run whose later page fails,
 * hangs or is stopped saves no cursor, and the next run reaches the same state as one that never
 * failed. Syncs are called in-process on a calendar with the cache flag and no channel, so only
 * the test starts them.
 */
describe('a sync of several pages', () => {
  let t: TestApp;
  let sync: SyncCalendarService;

  beforeAll(async () => {
    // Short enough for the hang test to fail fast, long enough for a 2,500-event page while the full
    // suite loads both cores (400 ms was not: the first page once timed out under load).
    t = await createTestApp({ env: { PROVIDER_TIMEOUT_MS: String(PROVIDER_TIMEOUT_MS) } });
    sync = t.app.get(SyncCalendarService);
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(() => t.google.faults.clear());

  /** A Google calendar holding `count` busy events over the next weeks, selected with the cache flag on. */
  async function calendarWith(count: number): Promise<{ id: number; externalId: string }> {
    const { host, id } = await cachedGoogleCalendar(t, busyEvents(count));
    // As if selected a moment ago and never synced: no cursor, nothing cached.
    await t.dataSource.query(`DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [id]);
    await t.dataSource.query(`UPDATE "SelectedCalendar" SET "syncToken" = NULL, "cacheEnabled" = false WHERE "id" = $1`, [id]);
    return { id, externalId: host.calendarId };
  }

  const state = async (id: number) => {
    const [row] = await t.dataSource.query(
      `SELECT "syncToken", "cacheEnabled", (SELECT count(*)::int FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1) AS cached
         FROM "SelectedCalendar" WHERE "id" = $1`,
      [id],
    );
    return row as { syncToken: string | null; cacheEnabled: boolean; cached: number };
  };

  it('caches every event of a three-page listing, asking the provider for each page once', async () => {
    const calendar = await calendarWith(2 * PAGE + 100);
    const calls = t.google.callCount('events.list', calendar.externalId);

    const outcome = await sync.sync(calendar.id, { full: true });

    expect(outcome).toMatchObject({ kind: 'full', pages: 3, events: 2 * PAGE + 100 });
    expect(t.google.callCount('events.list', calendar.externalId) - calls).toBe(3);
    // Each page asked for only what calsync reads of an event (a partial response), tokens included.
    const listings = t.google.calls
      .filter((c) => c.operation === 'events.list' && c.calendarId === calendar.externalId)
      .slice(-3);
    for (const call of listings) expect(call.query.fields).toMatch(/^nextPageToken,nextSyncToken,items\(id,/);
    const after = await state(calendar.id);
    expect(after).toMatchObject({ cacheEnabled: true, cached: 2 * PAGE + 100 });
    expect(after.syncToken).not.toBeNull();
  });

  it('a second page the provider refuses fails the run without a cursor; the next run caches everything', async () => {
    const calendar = await calendarWith(PAGE + 10);
    t.google.faults.failNext({ operation: 'events.list', status: 400, skip: 1 });

    await expect(sync.sync(calendar.id, { full: true })).rejects.toThrow(/400|invalid/i);
    expect((await state(calendar.id)).syncToken).toBeNull();

    await sync.sync(calendar.id, { full: true });
    const after = await state(calendar.id);
    expect(after).toMatchObject({ cacheEnabled: true, cached: PAGE + 10 });
    expect(after.syncToken).not.toBeNull();
  });

  it('a second page that hangs fails the run within the provider timeout, without a cursor; the next run caches everything', async () => {
    const calendar = await calendarWith(PAGE + 10);
    // The second page hangs, and any retry of it too (the first page answers at once).
    t.google.faults.slowNext({ operation: 'events.list', delayMs: 4 * PROVIDER_TIMEOUT_MS, skip: 1, count: 10 });

    const began = Date.now();
    await expect(sync.sync(calendar.id, { full: true })).rejects.toMatchObject({ kind: 'timeout' });
    // Well before the hung page would have answered.
    expect(Date.now() - began).toBeLessThan(3 * PROVIDER_TIMEOUT_MS);
    expect((await state(calendar.id)).syncToken).toBeNull();

    t.google.faults.clear();
    await sync.sync(calendar.id, { full: true });
    expect(await state(calendar.id)).toMatchObject({ cacheEnabled: true, cached: PAGE + 10 });
  });

  it('a run stopped while its next page is on the way (the process going down) saves no cursor; the next run completes it', async () => {
    const calendar = await calendarWith(PAGE + 10);
    t.google.faults.slowNext({ operation: 'events.list', delayMs: 300, skip: 1 });
    const stop = new AbortController();

    const stopped = sync.sync(calendar.id, { full: true, signal: stop.signal });
    // The first page is written (its rows are there) while the second is still on its way.
    for (let i = 0; i < 200 && (await state(calendar.id)).cached < PAGE; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await state(calendar.id)).cached).toBe(PAGE);
    stop.abort();

    await expect(stopped).rejects.toThrow(/abort/i);
    expect((await state(calendar.id)).syncToken).toBeNull();

    await sync.sync(calendar.id, { full: true });
    const after = await state(calendar.id);
    expect(after).toMatchObject({ cacheEnabled: true, cached: PAGE + 10 });
    expect(after.syncToken).not.toBeNull();
  });
});
