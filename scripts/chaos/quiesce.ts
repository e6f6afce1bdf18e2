import { createHash } from 'node:crypto';
import { sleep } from './env.js';
import type { World } from './world.js';

/** Jobs that carry a change somewhere (the scheduled `run-task` comes back every tick and does not count). */
const WORK_TASKS = ['sync-calendar', 'write-booking', 'channel-lifecycle', 'stop-channel', 'deliver-webhooks'];

export interface QuiesceReport {
  rounds: number;
  ms: number;
  stable: boolean;
  /** Retrying jobs whose backoff was cut short (graphile_worker.reschedule_jobs) so the run ends in seconds. */
  fastForwarded: number;
  /**
   * Calendars still backing off after failed syncs (the service leaves a failing calendar alone for 5 s,
   * doubling up to 15 min) that got the admin's full resync, which does not wait, as an operator would.
   */
  adminFullResyncs: number;
  /** Jobs that used up their attempts (graphile-worker keeps them; nothing will run them again). */
  failedJobs: Array<{ id: string; task: string; key: string | null; attempts: number; lastError: string | null }>;
  /**
   * Jobs that cannot run: locked (or waiting in a queue locked) for longer than any job takes, by a
   * worker that is gone. Nothing in the harness unlocks them: they are a finding, not noise.
   */
  stuckJobs: Array<{ id: string; task: string; queue: string | null; lockedFor: string; lockedBy: string | null }>;
  notes: string[];
}

/**
 * Brings the run to rest: every fault switch off (held pushes sent), both instances up, then rounds of
 * "resync every calendar (the admin task, which also replays outbox rows left behind), cut retry
 * backoffs short, wait until no work job is left, no outbox row is unapplied and the emulators stopped
 * pushing", until two rounds in a row leave the bookings and the calendars exactly as they were.
 */
export async function quiesce(world: World, options: { timeoutMs: number }): Promise<QuiesceReport> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const report: QuiesceReport = {
    rounds: 0,
    ms: 0,
    stable: false,
    fastForwarded: 0,
    adminFullResyncs: 0,
    failedJobs: [],
    stuckJobs: [],
    notes: [],
  };
  const { google, microsoft } = world.emulators;
  google.faults.clear();
  microsoft.faults.clear();
  google.faults.delayPushes(0);
  microsoft.faults.delayNotifications(0);
  microsoft.faults.shuffleDelta(false);
  await google.faults.releasePushes();
  await microsoft.faults.releaseNotifications();

  await ensureAllUp(world);

  let previous = '';
  while (performance.now() < deadline) {
    report.rounds += 1;
    const roundStart = (await world.db.query<{ now: Date }>('SELECT now() AS now')).rows[0].now;
    await world.call('POST', '/api/v1/admin/tasks/resync-calendars/run', undefined, { admin: true });
    await waitIdle(world, report, roundStart, Math.min(30_000, deadline - performance.now()));
    const print = await fingerprint(world);
    if (print === previous) {
      report.stable = true;
      break;
    }
    previous = print;
  }
  // graphile-worker retires a job that is running when a newer one with its key is added (key cleared,
  // attempts set to the maximum): superseded, not failed. A sync or write job that failed for good keeps
  // its key (they all have one). A webhook drain may be queued without a key (by the transaction that
  // records an event): one superseded is the keyed successor that never failed (no error recorded).
  const failed = await world.db.query<{
    id: string;
    task: string;
    key: string | null;
    attempts: number;
    lastError: string | null;
  }>(
    `SELECT id::text, task_identifier AS task, key, attempts, last_error AS "lastError" FROM graphile_worker.jobs
      WHERE attempts >= max_attempts AND (key IS NOT NULL OR NOT (task_identifier = ANY($1)))
        AND NOT (task_identifier = 'deliver-webhooks' AND key IS NULL AND last_error IS NULL) ORDER BY id`,
    [['sync-calendar', 'write-booking']],
  );
  report.failedJobs = failed.rows;
  const stuck = await world.db.query<{
    id: string;
    task: string;
    queue: string | null;
    lockedFor: string;
    lockedBy: string | null;
  }>(
    `SELECT j.id::text, j.task_identifier AS task, j.queue_name AS queue,
            (now() - coalesce(j.locked_at, q.locked_at))::text AS "lockedFor", coalesce(j.locked_by, q.locked_by) AS "lockedBy"
       FROM graphile_worker.jobs j LEFT JOIN graphile_worker._private_job_queues q ON q.queue_name = j.queue_name
      WHERE j.attempts < j.max_attempts AND ${STUCK} ORDER BY j.id`,
  );
  report.stuckJobs = stuck.rows;
  report.ms = performance.now() - started;
  return report;
}

/** Every instance that is down is started; waits until all are up. */
export async function ensureAllUp(world: World): Promise<void> {
  await Promise.all(
    world.instances.map(async (instance) => {
      if (!instance.alive) await world.restart(instance);
      const deadline = performance.now() + 60_000;
      while (instance.state !== 'up') {
        if (performance.now() > deadline) throw new Error(`instance ${instance.name} is not up`);
        if (!instance.alive) await world.restart(instance);
        await sleep(50);
      }
    }),
  );
}

/** Locked for longer than any job runs (provider calls time out after a few seconds), or queued behind such a lock. */
const STUCK_AFTER = `interval '20 seconds'`;
// (coalesce: an unlocked job in an unlocked queue is not stuck, and must not turn the test into NULL.)
const STUCK = `(coalesce(j.locked_at < now() - ${STUCK_AFTER}, false)
                OR (j.locked_at IS NULL AND coalesce(q.locked_at < now() - ${STUCK_AFTER}, false)))`;

/** A calendar's "sync again once the backoff is over" timer: not work to wait for (the admin resync replaces it). */
const BACKOFF_TIMER = `(coalesce(j.key LIKE 'sync-retry:%', false) AND j.run_at > now() AND j.locked_at IS NULL)`;

interface QueueState {
  jobs: number;
  future: number;
  changes: number;
  /** Webhook deliveries not yet delivered (pending, due now or waiting for a retry). */
  deliveries: number;
  /** Of those, retries due later. */
  laterDeliveries: number;
  /** Followed calendars (with a channel) not synced since the round began, or in error. */
  lagging: Array<{ id: number; failing: boolean }>;
}

async function queueState(world: World, roundStart: Date): Promise<QueueState> {
  const { rows } = await world.db.query<{
    jobs: string;
    future: string;
    changes: string;
    deliveries: string;
    laterDeliveries: string;
  }>(
    `SELECT (SELECT count(*) FROM graphile_worker.jobs j LEFT JOIN graphile_worker._private_job_queues q ON q.queue_name = j.queue_name
              WHERE j.task_identifier = ANY($1) AND j.attempts < j.max_attempts AND NOT ${STUCK} AND NOT ${BACKOFF_TIMER})::text AS jobs,
            (SELECT count(*) FROM graphile_worker.jobs j LEFT JOIN graphile_worker._private_job_queues q ON q.queue_name = j.queue_name
              WHERE j.task_identifier = ANY($1) AND j.attempts < j.max_attempts AND NOT ${STUCK} AND NOT ${BACKOFF_TIMER}
                AND j.run_at > now() + interval '200 milliseconds' AND j.locked_at IS NULL)::text AS future,
            (SELECT count(*) FROM "ExternalEventChange" WHERE "appliedAt" IS NULL)::text AS changes,
            (SELECT count(*) FROM "WebhookDelivery" WHERE "status" = 'pending')::text AS deliveries,
            (SELECT count(*) FROM "WebhookDelivery" WHERE "status" = 'pending' AND "nextAttemptAt" > now())::text AS "laterDeliveries"`,
    [WORK_TASKS],
  );
  const lagging = await world.db.query<{ id: number; failing: boolean }>(
    `SELECT "id", "syncErrorCount" > 0 AS failing FROM "SelectedCalendar"
      WHERE "channelId" IS NOT NULL AND ("syncErrorCount" > 0 OR "syncedAt" IS NULL OR "syncedAt" < $1)`,
    [roundStart],
  );
  return {
    jobs: Number(rows[0].jobs),
    future: Number(rows[0].future),
    changes: Number(rows[0].changes),
    deliveries: Number(rows[0].deliveries),
    laterDeliveries: Number(rows[0].laterDeliveries),
    lagging: lagging.rows,
  };
}

function pushCount(world: World): number {
  return world.emulators.google.pushLog.length + world.emulators.microsoft.notificationLog.length;
}

/**
 * Waits until no work job is left, every outbox row is applied, every followed calendar has synced since
 * the round began without error, and the emulators have been quiet for a while.
 */
async function waitIdle(world: World, report: QuiesceReport, roundStart: Date, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + Math.max(1000, timeoutMs);
  let quietSince = performance.now();
  let pushes = pushCount(world);
  let lastResync = performance.now();
  let lastKick = 0;
  while (performance.now() < deadline) {
    const state = await queueState(world, roundStart);
    if (state.laterDeliveries > 0) {
      // Webhook retries backing off (5 s doubling, after the receiver's faults): due now. Their
      // drains, queued for later, are brought forward just below.
      const { rowCount } = await world.db.query(
        `UPDATE "WebhookDelivery" SET "nextAttemptAt" = now() WHERE "status" = 'pending' AND "nextAttemptAt" > now()`,
      );
      report.fastForwarded += rowCount ?? 0;
    }
    if (state.future > 0) {
      // A job retrying with a long backoff (after a burst of 429/500s): run it now instead of in minutes.
      const { rows } = await world.db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM graphile_worker.reschedule_jobs(
           (SELECT array_agg(j.id) FROM graphile_worker.jobs j WHERE j.task_identifier = ANY($1) AND j.attempts < j.max_attempts
               AND j.run_at > now() AND j.locked_at IS NULL AND NOT ${BACKOFF_TIMER}),
           run_at := now())`,
        [WORK_TASKS],
      );
      report.fastForwarded += Number(rows[0]?.n ?? 0);
      await world.db.query(`SELECT pg_notify('jobs:insert', '{"count":1}')`);
    }
    const now = performance.now();
    if (pushCount(world) !== pushes) {
      pushes = pushCount(world);
      quietSince = now;
    }
    if (state.jobs === 0 && state.changes > 0 && now - lastResync > 2000) {
      // Outbox rows are replayed once they are a few seconds old, by the resync task among others.
      lastResync = now;
      await world.call('POST', '/api/v1/admin/tasks/resync-calendars/run', undefined, { admin: true }).catch(() => undefined);
    }
    if (state.jobs === 0 && state.lagging.length > 0 && now - lastKick > 1500) {
      lastKick = now;
      for (const calendar of state.lagging) {
        if (calendar.failing) {
          // Backing off after failures: the admin's full resync does not wait (as an operator would do).
          await world
            .call('POST', `/api/v1/admin/selected-calendars/${calendar.id}/resync`, undefined, { admin: true, expect: [202] })
            .catch(() => undefined);
          report.adminFullResyncs += 1;
        }
      }
      if (state.lagging.some((c) => !c.failing)) {
        await world.call('POST', '/api/v1/admin/tasks/resync-calendars/run', undefined, { admin: true }).catch(() => undefined);
      }
    }
    if (
      state.jobs === 0 &&
      state.changes === 0 &&
      state.deliveries === 0 &&
      state.lagging.length === 0 &&
      now - quietSince >= 500
    )
      return;
    await sleep(50);
  }
  const state = await queueState(world, roundStart);
  const left = await world.db.query<{
    task: string;
    queue: string | null;
    runAt: Date;
    locked: boolean;
    attempts: number;
    error: string | null;
  }>(
    `SELECT task_identifier AS task, queue_name AS queue, run_at AS "runAt", locked_at IS NOT NULL AS locked, attempts,
            left(last_error, 120) AS error
       FROM graphile_worker.jobs WHERE task_identifier = ANY($1) AND attempts < max_attempts ORDER BY id LIMIT 10`,
    [WORK_TASKS],
  );
  report.notes.push(
    `round ${report.rounds}: not idle after ${Math.round(timeoutMs)} ms (${state.jobs} job(s), ${state.changes} unapplied change(s), ${state.deliveries} pending webhook deliveries, ` +
      `calendars not synced since the round began: ${state.lagging.map((c) => `${c.id}${c.failing ? ' (failing)' : ''}`).join(', ') || 'none'}; ` +
      `jobs left: ${left.rows.map((j) => `${j.task}${j.queue ? ` in ${j.queue}` : ''} run_at ${j.runAt.toISOString().slice(11, 23)}${j.locked ? ' locked' : ''} attempts ${j.attempts}${j.error ? ` (${j.error})` : ''}`).join('; ') || 'none'})`,
  );
}

/** Bookings (with attendees and history length) and the calendars' events, hashed. */
async function fingerprint(world: World): Promise<string> {
  const bookings = await world.db.query(
    `SELECT b."id", b."status", b."startTime", b."endTime", b."title",
            (SELECT string_agg(a."email", ',' ORDER BY a."email") FROM "Attendee" a WHERE a."bookingId" = b."id") AS attendees,
            (SELECT count(*) FROM "BookingHistory" h WHERE h."bookingId" = b."id") AS history
       FROM "Booking" b ORDER BY b."id"`,
  );
  const events: string[] = [];
  for (const host of world.hosts) {
    if (host.provider === 'google') {
      for (const e of world.emulators.google.listEvents(host.calendarId)) events.push(`${e.id}:${e.etag}`);
    } else {
      for (const e of world.emulators.microsoft.listEvents(host.calendarId)) events.push(`${e.id}:${e.changeKey}`);
    }
  }
  return createHash('sha256').update(JSON.stringify(bookings.rows)).update(events.join('\n')).digest('hex');
}
