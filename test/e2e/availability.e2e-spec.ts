import pg from 'pg';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { type Host, connectGoogleHost } from '../support/fixtures.js';
import { afterPush, enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

const CACHE = 'calendar-subscription-cache';

function day(offset: number, hour = 0, minute = 0): string {
  const d = new Date();
  d.setUTCHours(hour, minute, 0, 0);
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString();
}

describe('Busy times from the cache, live from Google, or both', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { SYNC_WINDOW_DAYS: '30' } });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => t.google.faults.clear());

  async function cachedHost(options: { timeZone?: string } = {}): Promise<Host & { selectedId: number }> {
    const host = await connectGoogleHost(t, { destination: false, ...options });
    await enableFlagForUser(t, CACHE, host.userId);
    const selected = await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    return { ...host, selectedId: selected.body.id };
  }

  const busy = (host: Host, start: string, end: string) =>
    t.api.get(`/api/v1/users/${host.userId}/busy-times`).query({ start, end }).expect(200);

  it('answers from the cache with no call to Google, matching Google’s own freeBusy through every kind of change', async () => {
    const host = await cachedHost();
    const a = t.google.createEvent(host.calendarId, {
      summary: 'A',
      start: { dateTime: day(1, 9) },
      end: { dateTime: day(1, 10) },
    });
    t.google.createEvent(host.calendarId, { summary: 'B', start: { dateTime: day(1, 9, 30) }, end: { dateTime: day(1, 11) } });
    const c = t.google.createEvent(host.calendarId, {
      summary: 'C',
      start: { dateTime: day(2, 14) },
      end: { dateTime: day(2, 15) },
    });
    const d = t.google.createEvent(host.calendarId, {
      summary: 'D',
      start: { dateTime: day(3, 8) },
      end: { dateTime: day(3, 9) },
    });
    t.google.createEvent(host.calendarId, {
      summary: 'free',
      transparency: 'transparent',
      start: { dateTime: day(4, 8) },
      end: { dateTime: day(4, 9) },
    });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);

    const range = { start: day(0), end: day(20) };
    const check = async () => {
      t.google.resetCalls();
      const res = await busy(host, range.start, range.end);
      expect(res.body.source).toBe('cache');
      expect(t.google.callCount('freebusy.query')).toBe(0);
      expect(res.body.busy).toEqual(
        t.google.freeBusy(host.calendarId, range.start, range.end).map((b) => ({
          start: new Date(b.start).toISOString(),
          end: new Date(b.end).toISOString(),
        })),
      );
      return res.body.busy as Array<{ start: string; end: string }>;
    };
    expect(await check()).toEqual([
      { start: day(1, 9), end: day(1, 11) },
      { start: day(2, 14), end: day(2, 15) },
      { start: day(3, 8), end: day(3, 9) },
    ]);

    await afterPush(t, () =>
      t.google.createEvent(host.calendarId, { summary: 'E', start: { dateTime: day(5, 12) }, end: { dateTime: day(5, 13) } }),
    );
    await check();
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, c.id, { start: { dateTime: day(6, 16) }, end: { dateTime: day(6, 17) } }),
    );
    await check();
    await afterPush(t, () => t.google.updateEvent(host.calendarId, a.id, { transparency: 'transparent' }));
    await check();
    await afterPush(t, () => t.google.deleteEvent(host.calendarId, d.id));
    await check();
    // Moved past the cached window (30 days): gone from the cache, and from a range inside the window.
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, c.id, { start: { dateTime: day(40, 9) }, end: { dateTime: day(40, 10) } }),
    );
    const rows: Array<{ count: string }> = await t.dataSource.query(
      `SELECT count(*)::text AS count FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 AND "externalId" = $2`,
      [host.selectedId, c.id],
    );
    expect(rows[0].count).toBe('0');
    expect(await check()).toEqual([
      { start: day(1, 9, 30), end: day(1, 11) },
      { start: day(5, 12), end: day(5, 13) },
    ]);
  });

  it('answers the part of a range beyond the cached window live, and says so', async () => {
    const host = await cachedHost();
    t.google.createEvent(host.calendarId, { summary: 'near', start: { dateTime: day(2, 9) }, end: { dateTime: day(2, 10) } });
    t.google.createEvent(host.calendarId, { summary: 'far', start: { dateTime: day(45, 9) }, end: { dateTime: day(45, 10) } });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    t.google.resetCalls();
    const res = await busy(host, day(0), day(60));
    expect(res.body.source).toBe('mixed');
    expect(res.body.busy).toEqual([
      { start: day(2, 9), end: day(2, 10) },
      { start: day(45, 9), end: day(45, 10) },
    ]);
    expect(t.google.callCount('freebusy.query')).toBe(1);
  });

  it('never trusts the cache beyond what its last full listing covered, and extends it once the window slides', async () => {
    const host = await cachedHost();
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    // As if the last full sync were two days old: the window has slid past what it covered, and an
    // old event (no change, so no incremental sync reports it) now lies inside the window.
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "cacheCoveredUntil" = "cacheCoveredUntil" - interval '2 days' WHERE "id" = $1`,
      [host.selectedId],
    );
    t.google.seedEvents(host.calendarId, [{ summary: 'old', start: { dateTime: day(29, 9) }, end: { dateTime: day(29, 10) } }]);
    t.google.resetCalls();
    const before = await busy(host, day(0), day(30));
    expect(before.body).toEqual({ source: 'mixed', busy: [{ start: day(29, 9), end: day(29, 10) }] });
    expect(t.google.callCount('freebusy.query')).toBe(1);

    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    t.google.resetCalls();
    const after = await busy(host, day(0), day(30));
    expect(after.body).toEqual({ source: 'cache', busy: [{ start: day(29, 9), end: day(29, 10) }] });
    expect(t.google.callCount('freebusy.query')).toBe(0);
  });

  it('answers live when the cache flag is off, and mixes calendars that are cached with ones that are not', async () => {
    const host = await connectGoogleHost(t, { destination: false });
    const second = t.google.addCalendar(host.email, { summary: 'Second' });
    t.google.createEvent(host.calendarId, { summary: 'one', start: { dateTime: day(1, 9) }, end: { dateTime: day(1, 10) } });
    t.google.createEvent(second.id, { summary: 'two', start: { dateTime: day(1, 10) }, end: { dateTime: day(1, 11) } });
    for (const externalId of [host.calendarId, second.id]) {
      await t.api
        .post(`/api/v1/users/${host.userId}/selected-calendars`)
        .send({ credentialId: host.credentialId, externalId })
        .expect(201);
    }
    t.google.resetCalls();
    const live = await busy(host, day(0), day(7));
    expect(live.body).toEqual({ source: 'live', busy: [{ start: day(1, 9), end: day(1, 11) }] });
    expect(t.google.callCount('freebusy.query')).toBe(1);

    await enableFlagForUser(t, CACHE, host.userId);
    await new Promise((r) => setTimeout(r, 2100)); // the flag cache lives two seconds
    // Only the first calendar gets a channel: the watch of the second one fails.
    t.google.faults.failNext({ count: 1, operation: 'events.watch', status: 403, reason: 'forbidden' });
    const subscribed = await runTask(t, 'subscribe-calendars');
    expect(subscribed).toMatchObject({ watched: 1, failed: 1 });
    await waitForQueueIdle(t);
    t.google.resetCalls();
    const mixed = await busy(host, day(0), day(7));
    expect(mixed.body).toEqual({ source: 'mixed', busy: [{ start: day(1, 9), end: day(1, 11) }] });
    expect(t.google.callCount('freebusy.query')).toBe(1);
  });

  it('serves a calendar whose last sync is too old live, and resyncs it in the background', async () => {
    const host = await cachedHost();
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    await t.dataSource.query(`UPDATE "SelectedCalendar" SET "syncedAt" = now() - interval '1 day' WHERE "id" = $1`, [
      host.selectedId,
    ]);
    t.google.resetCalls();
    const res = await busy(host, day(0), day(7));
    expect(res.body.source).toBe('live');
    expect(t.google.callCount('freebusy.query')).toBe(1);
    await expectEventually(async () => {
      const rows: Array<{ syncedAt: Date }> = await t.dataSource.query(
        `SELECT "syncedAt" FROM "SelectedCalendar" WHERE "id" = $1`,
        [host.selectedId],
      );
      expect(Date.now() - rows[0].syncedAt.getTime()).toBeLessThan(60_000);
    });
    expect((await busy(host, day(0), day(7))).body.source).toBe('cache');
  });

  it('blocks whole days of all-day events in the user’s time zone', async () => {
    const host = await cachedHost({ timeZone: 'America/New_York' });
    const date = day(3).slice(0, 10);
    const next = day(4).slice(0, 10);
    t.google.createEvent(host.calendarId, { summary: 'Holiday', start: { date }, end: { date: next } });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const res = await busy(host, day(0), day(10));
    const offset = new Date(`${date}T12:00:00Z`).toLocaleString('en-US', {
      timeZone: 'America/New_York',
      timeZoneName: 'shortOffset',
    });
    const hours = offset.includes('GMT-4') ? 4 : 5;
    expect(res.body).toEqual({
      source: 'cache',
      busy: [{ start: `${date}T0${hours}:00:00.000Z`, end: `${next}T0${hours}:00:00.000Z` }],
    });
  });

  it('rejects bad ranges and unknown users', async () => {
    const host = await connectGoogleHost(t, { destination: false });
    const bad = await t.api
      .get(`/api/v1/users/${host.userId}/busy-times`)
      .query({ start: day(2), end: day(1) })
      .expect(400);
    expect(bad.body.errors).toContainEqual({ field: 'end', message: 'end must be after start' });
    await t.api
      .get(`/api/v1/users/${host.userId}/busy-times`)
      .query({ start: 'yesterday', end: day(1) })
      .expect(400);
    await t.api
      .get(`/api/v1/users/${host.userId}/busy-times`)
      .query({ start: day(0), end: day(400) })
      .expect(400);
    await t.api
      .get('/api/v1/users/999999/busy-times')
      .query({ start: day(0), end: day(1) })
      .expect(404);
  });

  it('a team’s cache flag gets its members’ calendars watched and cached; turning it off stops them and empties the cache', async () => {
    const team = await t.api.post('/api/v1/teams').send({ name: 'Cached team' }).expect(201);
    const member = await connectGoogleHost(t, { destination: false });
    const selected = await t.api
      .post(`/api/v1/users/${member.userId}/selected-calendars`)
      .send({ credentialId: member.credentialId, externalId: member.calendarId })
      .expect(201);
    t.google.createEvent(member.calendarId, { summary: 'x', start: { dateTime: day(1, 9) }, end: { dateTime: day(1, 10) } });
    await t.api.put(`/api/v1/teams/${team.body.id}/members/${member.userId}`).expect(204);
    await t.dataSource.query(
      `INSERT INTO "TeamFeatures" ("teamId", "featureId", "assignedAt", "assignedBy", "updatedAt") VALUES ($1, $2, NOW(), 'test', NOW())`,
      [team.body.id, CACHE],
    );
    await new Promise((r) => setTimeout(r, 2100));
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    expect(t.google.liveChannels(member.calendarId)).toHaveLength(1);
    const count = async () =>
      Number(
        (
          (await t.dataSource.query(`SELECT count(*)::text AS count FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [
            selected.body.id,
          ])) as Array<{ count: string }>
        )[0].count,
      );
    expect(await count()).toBe(1);

    await t.dataSource.query(`UPDATE "TeamFeatures" SET "enabled" = false WHERE "teamId" = $1`, [team.body.id]);
    await new Promise((r) => setTimeout(r, 2100));
    const result = await runTask(t, 'subscribe-calendars');
    expect(result.stopped).toBe(1);
    expect(t.google.liveChannels(member.calendarId)).toHaveLength(0);
    expect(await count()).toBe(0);
  });

  it('keeps answers for several calendars exact when one of them changes, by a sync or any other path', async () => {
    const host = await cachedHost();
    const second = t.google.addCalendar(host.email, { summary: 'Second' }).id;
    const secondSelected = await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: second })
      .expect(201);
    t.google.createEvent(host.calendarId, { summary: 'one', start: { dateTime: day(1, 9) }, end: { dateTime: day(1, 10) } });
    const two = t.google.createEvent(second, {
      summary: 'two',
      start: { dateTime: day(2, 9) },
      end: { dateTime: day(2, 10) },
    });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const range = { start: day(0), end: day(10) };
    const answer = async () => {
      const res = await busy(host, range.start, range.end);
      expect(res.body.source).toBe('cache');
      return res.body.busy as Array<{ start: string; end: string }>;
    };
    expect(await answer()).toEqual([
      { start: day(1, 9), end: day(1, 10) },
      { start: day(2, 9), end: day(2, 10) },
    ]);
    const versions = async () =>
      (
        (await t.dataSource.query(
          `SELECT "cacheVersion"::int AS v FROM "SelectedCalendar" WHERE "id" = ANY($1::int[]) ORDER BY "id"`,
          [[host.selectedId, secondSelected.body.id]],
        )) as Array<{ v: number }>
      ).map((r) => r.v);

    // A sync that finds nothing new leaves the cache, and so its version, as it was.
    const before = await versions();
    await runTask(t, 'resync-calendars');
    await waitForQueueIdle(t);
    expect(await versions()).toEqual(before);

    // One calendar changes through a sync: the answer follows, and only that calendar's version moved.
    await afterPush(t, () =>
      t.google.updateEvent(second, two.id, { start: { dateTime: day(2, 11) }, end: { dateTime: day(2, 13) } }),
    );
    const afterMove = await versions();
    expect(afterMove[0]).toBe(before[0]);
    expect(afterMove[1]).toBeGreaterThan(before[1]);
    expect(await answer()).toEqual([
      { start: day(1, 9), end: day(1, 10) },
      { start: day(2, 11), end: day(2, 13) },
    ]);

    // The other changes by a path that is no sync at all (here SQL by hand; `syncedAt` stays put).
    await t.dataSource.query(`DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [host.selectedId]);
    expect(await answer()).toEqual([{ start: day(2, 11), end: day(2, 13) }]);
  });

  it('clean-up drops ended events; removing a calendar drops its events at once', async () => {
    const host = await cachedHost();
    t.google.createEvent(host.calendarId, { summary: 'soon', start: { dateTime: day(1, 9) }, end: { dateTime: day(1, 10) } });
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    await t.dataSource.query(
      `INSERT INTO "CalendarCacheEvent" ("selectedCalendarId", "externalId", "start", "end", "status", "cachedAt")
       VALUES ($1, 'ended', now() - interval '3 hours', now() - interval '2 hours', 'confirmed', now())`,
      [host.selectedId],
    );
    const cleaned = await runTask(t, 'cleanup-cache');
    expect(cleaned.deletedEvents).toBeGreaterThanOrEqual(1);
    const ids = async () =>
      (
        (await t.dataSource.query(`SELECT "externalId" FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [
          host.selectedId,
        ])) as Array<{
          externalId: string;
        }>
      ).map((r) => r.externalId);
    expect(await ids()).toHaveLength(1);
    await t.api.delete(`/api/v1/users/${host.userId}/selected-calendars/${host.selectedId}`).expect(204);
    expect(await ids()).toHaveLength(0);
    await expectEventually(() => expect(t.google.liveChannels(host.calendarId)).toHaveLength(0));
  });

  it('clean-up that deadlocks with a sync reconciling the same calendar tries again and finishes', async () => {
    const host = await cachedHost();
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    await t.dataSource.query(
      `INSERT INTO "CalendarCacheEvent" ("selectedCalendarId", "externalId", "start", "end", "status", "cachedAt")
       VALUES ($1, 'ended-1', now() - interval '3 hours', now() - interval '2 hours', 'confirmed', now()),
              ($1, 'ended-2', now() - interval '3 hours', now() - interval '2 hours', 'confirmed', now())`,
      [host.selectedId],
    );
    // What a full sync's transaction holds at the end of a page: the calendar's row (its version
    // moved), and next it removes events it no longer saw.
    const sync = new pg.Client({ connectionString: t.db.url });
    await sync.connect();
    try {
      await sync.query('BEGIN');
      await sync.query(`UPDATE "SelectedCalendar" SET "cacheVersion" = "cacheVersion" + 1 WHERE "id" = $1`, [host.selectedId]);
      const cleanup = runTask(t, 'cleanup-cache'); // deletes both ended events, then waits for the calendar's row
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Waits for the clean-up's row locks: a deadlock, which PostgreSQL breaks by aborting the clean-up.
      await sync.query(`DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 AND "externalId" = 'ended-1'`, [
        host.selectedId,
      ]);
      await sync.query('COMMIT');
      expect((await cleanup).deletedEvents).toBe(1);
    } finally {
      await sync.end();
    }
    const left: Array<{ externalId: string }> = await t.dataSource.query(
      `SELECT "externalId" FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1 AND "end" < now()`,
      [host.selectedId],
    );
    expect(left).toEqual([]);
  });
});
