import type { TestApp } from './create-test-app.js';
import { expectConsistently, expectEventually } from './expect-eventually.js';
import type { EventInput } from '../../emulators/google/types.js';
import { type Host, connectGoogleHost, slot } from './fixtures.js';

/** Turns a flag on for one user the way the seed document does it: plain SQL. */
export async function enableFlagForUser(t: TestApp, slug: string, userId: number, enabled = true): Promise<void> {
  await t.dataSource.query(
    `INSERT INTO "UserFeatures" ("userId", "featureId", "enabled", "assignedAt", "assignedBy", "updatedAt")
     VALUES ($1, $2, $3, NOW(), 'test', NOW())
     ON CONFLICT ("userId", "featureId") DO UPDATE SET "enabled" = EXCLUDED."enabled", "updatedAt" = NOW()`,
    [userId, slug, enabled],
  );
}

export async function runTask(t: TestApp, task: string): Promise<Record<string, number>> {
  const res = await t.admin.post(`/api/v1/admin/tasks/${task}/run`).expect(200);
  return res.body.result;
}

/**
 * Waits until no sync or write job is waiting, running or retrying, and every change a sync
 * recorded has been applied to its booking.
 */
export async function waitForQueueIdle(t: TestApp, timeoutMs = 15_000): Promise<void> {
  await expectEventually(
    async () => {
      const rows: Array<{ jobs: string; changes: string }> = await t.dataSource.query(
        `SELECT (SELECT count(*) FROM graphile_worker.jobs
                  WHERE task_identifier IN ('sync-calendar', 'write-booking') AND attempts < max_attempts)::text AS jobs,
                (SELECT count(*) FROM "ExternalEventChange" WHERE "appliedAt" IS NULL)::text AS changes`,
      );
      expect(rows[0]).toEqual({ jobs: '0', changes: '0' });
    },
    { timeoutMs, intervalMs: 20 },
  );
}

/** Runs `change` and waits until its push was delivered and the resulting work is done. */
export async function afterPush(t: TestApp, change: () => unknown | Promise<unknown>): Promise<void> {
  const before = t.google.pushLog.length;
  await change();
  await expectEventually(() => expect(t.google.pushLog.length).toBeGreaterThan(before), { timeoutMs: 10_000 });
  await waitForQueueIdle(t);
}

/**
 * The same for a change in the Graph emulator: waits for its notifications and the work they caused.
 * Graph sends 2–4 notifications per edit (a create or update is echoed by a second `updated` a
 * little later, in its own POST), so waiting for the first one is not enough: once one arrived,
 * this waits until the emulator stopped notifying and every sync they caused is done
 * (`settleNotifications`). Dropped notifications count as arrived (they are logged as `dropped`).
 */
export async function afterNotification(t: TestApp, change: () => unknown | Promise<unknown>): Promise<void> {
  const before = graphNotificationCount(t);
  await change();
  await expectEventually(() => expect(graphNotificationCount(t)).toBeGreaterThan(before), { timeoutMs: 10_000 });
  await settleNotifications(t);
}

export interface SyncedBooking {
  id: number;
  uid: string;
  eventId: string;
  startTime: string;
  endTime: string;
}

/** Books a slot and waits until the event is in Google and calsync has processed its echo. */
export async function bookAndSettle(
  t: TestApp,
  host: Host,
  daysAhead = 3,
  extra: Record<string, unknown> = {},
): Promise<SyncedBooking> {
  const when = slot(daysAhead);
  // Google pushes the event's creation to the calendar's channel; that push (and the sync it asks
  // for) must be over before the test changes the event, or the echo's late sync would pick up the
  // test's change as if its own push had arrived.
  const channels = new Set(t.google.liveChannels(host.calendarId).map((c) => c.id));
  const pushesBefore = t.google.pushLog.length;
  const res = await t.api
    .post('/api/v1/bookings')
    .send({
      userId: host.userId,
      title: 'Sync test',
      ...when,
      attendees: [{ email: 'guest@example.com', name: 'Guest' }],
      ...extra,
    })
    .expect(201);
  const eventId = await expectEventually(async () => {
    const view = await t.api.get(`/api/v1/bookings/${res.body.id}`).expect(200);
    expect(view.body.references).toHaveLength(1);
    return view.body.references[0].externalEventId as string;
  });
  if (channels.size > 0) {
    await expectEventually(() =>
      expect(t.google.pushLog.slice(pushesBefore).some((push) => channels.has(push.channelId))).toBe(true),
    );
  }
  await waitForQueueIdle(t);
  return { id: res.body.id, uid: res.body.uid, eventId, ...when };
}

export async function getBooking(t: TestApp, id: number) {
  return (await t.api.get(`/api/v1/bookings/${id}`).expect(200)).body as {
    status: string;
    title: string;
    description: string | null;
    location: string | null;
    startTime: string;
    endTime: string;
    cancellationReason: string | null;
    attendees: Array<{ email: string; name: string | null }>;
    references: Array<{ externalCalendarId: string; externalEventId: string }>;
    history: Array<{ action: string; source: string; changes: Record<string, unknown> }>;
  };
}

export function shifted(iso: string, minutes: number): string {
  return new Date(Date.parse(iso) + minutes * 60_000).toISOString();
}

/** Change notifications (not validations or life-cycle events) the Graph emulator finished sending, dropped ones included. */
export function graphNotificationCount(t: TestApp): number {
  return t.microsoft.notificationLog.filter((entry) => entry.kind === 'notification').length;
}

/**
 * Waits until the Graph emulator has been quiet for `quietMs` (no notification finished, so its
 * echoes, 20 ms after an edit, and retries are all in) and no sync or write job is left; repeats
 * while notifications keep coming. A booking made through the API is echoed too (created, then
 * updated): settle after `bookAndSettle` before counting a later edit's notifications.
 */
export async function settleNotifications(t: TestApp, quietMs = 150, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = graphNotificationCount(t);
    await waitForQueueIdle(t, Math.max(1, deadline - Date.now()));
    try {
      await expectConsistently(() => expect(graphNotificationCount(t)).toBe(seen), { durationMs: quietMs, intervalMs: 10 });
      await waitForQueueIdle(t, Math.max(1, deadline - Date.now()));
      if (graphNotificationCount(t) === seen) return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
  }
}

/** Busy 30-minute events, 20 minutes apart, from tomorrow on. */
export function busyEvents(count: number): EventInput[] {
  const start = Date.now() + 86_400_000;
  return Array.from({ length: count }, (_, i) => ({
    summary: `Paged ${i}`,
    start: { dateTime: new Date(start + i * 20 * 60_000).toISOString() },
    end: { dateTime: new Date(start + i * 20 * 60_000 + 30 * 60_000).toISOString() },
  }));
}

/**
 * A Google calendar holding `seed`, selected with the cache flag on for its owner (no destination
 * calendar), once the jobs its selection started are done. `id` is the selected calendar's.
 */
export async function cachedGoogleCalendar(t: TestApp, seed: EventInput[]): Promise<{ host: Host; id: number }> {
  const host = await connectGoogleHost(t, { destination: false });
  t.google.seedEvents(host.calendarId, seed);
  await enableFlagForUser(t, 'calendar-subscription-cache', host.userId);
  const selected = await t.api
    .post(`/api/v1/users/${host.userId}/selected-calendars`)
    .send({ credentialId: host.credentialId, externalId: host.calendarId })
    .expect(201);
  await waitForQueueIdle(t);
  return { host, id: selected.body.id };
}

export interface SyncHold {
  id: number;
  syncErrorCount: number;
  /** Seconds until the calendar's syncs may call the provider again (`syncNotBefore`); null: no hold. */
  waitSeconds: number | null;
}

/** A calendar's failure count and the hold a provider's Retry-After or rate limit put on its syncs. */
export async function syncHold(t: TestApp, host: Pick<Host, 'credentialId' | 'calendarId'>): Promise<SyncHold> {
  const rows: SyncHold[] = await t.dataSource.query(
    `SELECT "id", "syncErrorCount", extract(epoch FROM "syncNotBefore" - now())::float8 AS "waitSeconds"
       FROM "SelectedCalendar" WHERE "credentialId" = $1 AND "externalId" = $2`,
    [host.credentialId, host.calendarId],
  );
  return rows[0];
}

/**
 * Ends a calendar's hold as if its time had passed: the hold and the backoff over, and the retry
 * queued for the end of the hold removed (so the queue is idle for what follows).
 */
export async function liftSyncHold(t: TestApp, selectedCalendarId: number): Promise<void> {
  await t.dataSource.query(
    `UPDATE "SelectedCalendar" SET "syncNotBefore" = now(), "syncErrorAt" = now() - interval '1 minute' WHERE "id" = $1`,
    [selectedCalendarId],
  );
  await t.dataSource.query(`SELECT graphile_worker.remove_job($1)`, [`sync-retry:${selectedCalendarId}`]);
}
