import pg from 'pg';
import { sleep } from './env.js';
import { ensureAllUp } from './quiesce.js';
import type { ProviderKind } from './schedule.js';
import { type BookingRecord, type World, operationName } from './world.js';

export interface LatencySample {
  provider: ProviderKind;
  variant: 'pending' | 'all-down';
  /** spawn → healthy */
  bootMs: number;
  /** spawn → the booking shows the change */
  landedMs: number | null;
  note?: string;
}

/**
 * Restart → pending change landed. `pending`: a host edit whose push was accepted and whose sync job is
 * running (its listing call hangs in the emulator) when both instances are killed; one instance is
 * started again and the clock runs from its spawn until the booking shows the edit. `all-down`: the edit
 * is made while both instances are down (its push finds nobody and is lost), then one is started.
 */
export async function measureRestart(
  world: World,
  provider: ProviderKind,
  variant: LatencySample['variant'],
  timeoutMs: number,
): Promise<LatencySample> {
  for (let attempt = 1; ; attempt++) {
    const sample = await restartOnce(world, provider, variant, timeoutMs);
    if (sample.note !== 'landed before the kill' || attempt >= 3) return sample;
  }
}

async function probeBooking(world: World, provider: ProviderKind): Promise<BookingRecord | undefined> {
  for (const b of world.bookings) {
    if (!b?.id || world.hosts[b.host].provider !== provider) continue;
    const { rows } = await world.db.query<{ status: string }>(`SELECT "status" FROM "Booking" WHERE "id" = $1`, [b.id]);
    const events = world.eventsOf(b);
    if (rows[0]?.status === 'accepted' && events.length === 1 && !events[0].recurring) return b;
  }
  return undefined;
}

async function restartOnce(
  world: World,
  provider: ProviderKind,
  variant: LatencySample['variant'],
  timeoutMs: number,
): Promise<LatencySample> {
  await ensureAllUp(world);
  const booking = await probeBooking(world, provider);
  if (!booking) return { provider, variant, bootMs: 0, landedMs: null, note: 'no accepted booking to probe' };
  const host = world.hosts[booking.host];
  const { google, microsoft } = world.emulators;
  const event = world.eventsOf(booking)[0];
  const start = new Date(Date.parse(event.startTime) + 86_400_000 + 15 * 60_000).toISOString();
  const end = new Date(Date.parse(event.endTime) + 86_400_000 + 15 * 60_000).toISOString();
  const move = () => {
    if (host.provider === 'google')
      google.updateEvent(host.calendarId, event.id, { start: { dateTime: start }, end: { dateTime: end } });
    else {
      microsoft.updateEvent(event.id, {
        start: { dateTime: start.replace(/Z$/, ''), timeZone: 'UTC' },
        end: { dateTime: end.replace(/Z$/, ''), timeZone: 'UTC' },
      });
    }
    const at = world.now();
    world.record({
      kind: 'host-move',
      booking: booking.index,
      due: at,
      start: at,
      end: at,
      outcome: 'ok',
      values: [{ group: 'times', startTime: start, endTime: end }],
      detail: `restart probe (${variant})`,
    });
  };
  const landed = async () => {
    const { rows } = await world.db.query<{ startTime: Date }>(`SELECT "startTime" FROM "Booking" WHERE "id" = $1`, [booking.id]);
    return rows[0]?.startTime.toISOString() === start;
  };

  if (variant === 'pending') {
    const list = operationName(provider, 'list');
    const hungBefore = world.emulators.counters.hung;
    if (provider === 'google') google.faults.slowNext({ operation: list, delayMs: 30_000, count: 1 });
    else microsoft.faults.slowNext({ operation: list, ms: 30_000, count: 1 });
    move();
    const deadline = performance.now() + 10_000;
    while (world.emulators.counters.hung === hungBefore && performance.now() < deadline) await sleep(5);
    await Promise.all(world.instances.map((i) => i.kill9()));
    google.faults.clear();
    microsoft.faults.clear();
    if (await landed()) return { provider, variant, bootMs: 0, landedMs: null, note: 'landed before the kill' };
  } else {
    await Promise.all(world.instances.map((i) => i.kill9()));
    move();
    await sleep(1000); // the pushes find no instance and are given up
  }
  for (const i of world.instances) world.kills.push({ at: world.now(), instance: `${i.name} (measurement)` });

  const [first, second] = world.instances;
  const spawned = performance.now();
  let landedAt: number | null = null;
  // The wait for the change runs from the moment the instance answers /health (a loaded machine may
  // take long to boot; that is not what is measured).
  let healthyAt: number | null = null;
  const watch = (async () => {
    while (healthyAt === null || performance.now() - healthyAt < timeoutMs) {
      if (await landed().catch(() => false)) {
        landedAt = performance.now() - spawned;
        return;
      }
      await sleep(20);
    }
  })();
  const bootMs = await first.start();
  healthyAt = performance.now();
  await watch;
  await second.start();
  return {
    provider,
    variant,
    bootMs,
    landedMs: landedAt,
    note: landedAt === null ? `not landed ${Math.round(timeoutMs / 1000)} s after the restarted instance answered` : undefined,
  };
}

export interface TickReport {
  windowMs: number;
  intervalSeconds: number;
  ticks: number;
  /** Runs of resync-calendars seen (distinct run-task job ids whose payload names it). */
  resyncRuns: number;
  /** Runs of any scheduled task, by task. */
  runsByTask: Record<string, number>;
  /** Provider listings per followed calendar in the window (each resync run syncs every calendar once). */
  listingsPerCalendar: { min: number; max: number; mean: number };
}

/**
 * With both instances up and nothing else happening, counts how often the scheduled tasks ran in a
 * window: every run-task job row the queue ever held in the window (LISTEN jobs:insert plus a 10 ms
 * poll, jobs live for the task's whole run), and every provider listing per calendar.
 */
export async function measureTicks(world: World, intervalSeconds: number, ticks: number): Promise<TickReport> {
  await ensureAllUp(world);
  const seen = new Map<string, string>();
  const client = new pg.Client({ connectionString: world.dbUrl });
  client.on('error', () => undefined);
  await client.connect();
  const poll = async () => {
    // The payload names the task (the public jobs view has no payload); a job's key may be cleared
    // while it runs (a new tick added the same key), its payload never.
    const { rows } = await client.query<{ id: string; task: string | null }>(
      `SELECT j.id::text, j.payload->>'task' AS task
         FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
        WHERE t.identifier = 'run-task'`,
    );
    for (const r of rows) seen.set(r.id, r.task ?? '?');
  };
  // Jobs present before the window began are not counted.
  await poll();
  const before = new Set(seen.keys());
  seen.clear();
  const windowMs = ticks * intervalSeconds * 1000;
  const googleFrom = world.emulators.google.calls.length;
  const graphFrom = world.emulators.microsoft.calls.length;
  let polling = Promise.resolve();
  client.on('notification', () => {
    polling = polling.then(poll, poll);
  });
  await client.query('LISTEN "jobs:insert"');
  const started = performance.now();
  while (performance.now() - started < windowMs) {
    await poll();
    await sleep(10);
  }
  await polling;
  await client.end();
  for (const id of before) seen.delete(id);
  const runsByTask: Record<string, number> = {};
  for (const task of seen.values()) runsByTask[task] = (runsByTask[task] ?? 0) + 1;
  const listings = new Map<string, number>();
  for (const host of world.hosts) listings.set(host.calendarId, 0);
  for (const c of world.emulators.google.calls.slice(googleFrom)) {
    if (c.operation === 'events.list' && c.calendarId && listings.has(c.calendarId))
      listings.set(c.calendarId, (listings.get(c.calendarId) ?? 0) + 1);
  }
  for (const c of world.emulators.microsoft.calls.slice(graphFrom)) {
    if (c.operation === 'calendarView.delta' && c.calendarId && listings.has(c.calendarId)) {
      listings.set(c.calendarId, (listings.get(c.calendarId) ?? 0) + 1);
    }
  }
  const counts = [...listings.values()];
  return {
    windowMs,
    intervalSeconds,
    ticks,
    resyncRuns: runsByTask['resync-calendars'] ?? 0,
    runsByTask,
    listingsPerCalendar: {
      min: Math.min(...counts),
      max: Math.max(...counts),
      mean: counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length),
    },
  };
}
