import pg from 'pg';
import { JobWorker } from '../../src/infrastructure/queue/job-worker.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectConsistently, expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost, slot } from '../support/fixtures.js';
import { enableFlagForUser, runTask } from '../support/sync-helpers.js';

/**
 * A process killed mid-job leaves its job locked; graphile-worker alone would wait four hours.
 * Live instances release the jobs (and per-calendar queues) of workers whose heartbeat stopped.
 */
describe('Jobs of a crashed process', () => {
  let t: TestApp;
  /** Jobs due now, running or waiting for a worker: none once the queue is idle. */
  const dueJobs = () => t.dataSource.query(`SELECT 1 FROM graphile_worker._private_jobs WHERE run_at <= now()`);

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('are picked up again after the dead worker is detected', async () => {
    const host = await connectGoogleHost(t);
    await t.stop();
    // What a crash leaves behind: a booking whose write job is locked by a worker that no longer beats.
    const client = new pg.Client({ connectionString: t.db.url });
    await client.connect();
    let bookingId: number;
    try {
      await client.query(
        `INSERT INTO "QueueWorker" ("workerId", "host", "heartbeatAt") VALUES ('pool-dead', 'gone:1', now() - interval '5 minutes')`,
      );
      const booking = await client.query(
        `INSERT INTO "Booking" ("uid", "userId", "title", "startTime", "endTime") VALUES (gen_random_uuid(), $1, 'Orphan', $2, $3) RETURNING id`,
        [host.userId, slot(4).startTime, slot(4).endTime],
      );
      await client.query(
        `SELECT graphile_worker.add_job('write-booking', json_build_object('bookingId', $1::int), queue_name => 'booking:' || $1, job_key => 'write-booking:' || $1)`,
        [booking.rows[0].id],
      );
      await client.query(`UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = 'pool-dead'`);
      await client.query(`UPDATE graphile_worker._private_job_queues SET locked_at = now(), locked_by = 'pool-dead'`);
      bookingId = booking.rows[0].id;
    } finally {
      await client.end();
    }
    await t.restart();
    await expectEventually(
      async () => {
        const res = await t.api.get(`/api/v1/bookings/${bookingId}`).expect(200);
        expect(res.body.references).toHaveLength(1);
      },
      { timeoutMs: 15_000 },
    );
    expect(t.google.listEvents(host.calendarId).map((e) => e.summary)).toContain('Orphan');
  });

  it('are released by a live sibling within seconds when the dead process’s connection is gone (kill -9), heartbeat or not, and never while it lives', async () => {
    const host = await connectGoogleHost(t);
    // The killed process: its liveness connection, a fresh heartbeat, and a job it had locked.
    const killed = new pg.Client({ connectionString: t.db.url });
    await killed.connect();
    await killed.query(
      `INSERT INTO "QueueWorker" ("workerId", "host", "heartbeatAt", "backendPid", "backendStartedAt")
       SELECT 'pool-killed', 'gone:2', now(), pg_backend_pid(), backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
    );
    const booking = await killed.query<{ id: number }>(
      `INSERT INTO "Booking" ("uid", "userId", "title", "startTime", "endTime") VALUES (gen_random_uuid(), $1, 'Killed', $2, $3) RETURNING id`,
      [host.userId, slot(5).startTime, slot(5).endTime],
    );
    const bookingId = booking.rows[0].id;
    await killed.query('BEGIN');
    await killed.query(
      `SELECT graphile_worker.add_job('write-booking', json_build_object('bookingId', $1::int), queue_name => 'booking:' || $1, job_key => 'write-booking:' || $1)`,
      [bookingId],
    );
    const locked = await killed.query(
      `UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = 'pool-killed'
        WHERE key = 'write-booking:' || $1`,
      [bookingId],
    );
    expect(locked.rowCount).toBe(1);
    await killed.query(
      `UPDATE graphile_worker._private_job_queues SET locked_at = now(), locked_by = 'pool-killed' WHERE queue_name = 'booking:' || $1`,
      [bookingId],
    );
    await killed.query('COMMIT');
    // While its connection lives, the sibling is alive: neither it nor this instance's own worker is released.
    const ownBefore: Array<{ workerId: string; startedAt: Date }> = await t.dataSource.query(
      `SELECT "workerId", "startedAt" FROM "QueueWorker" WHERE "workerId" <> 'pool-killed' ORDER BY "workerId"`,
    );
    expect(ownBefore.length).toBeGreaterThan(0);
    // Over two release checks (every 2 s).
    await expectConsistently(
      async () => {
        const alive: Array<{ workerId: string; startedAt: Date }> = await t.dataSource.query(
          `SELECT "workerId", "startedAt" FROM "QueueWorker" ORDER BY "workerId"`,
        );
        expect(alive.map((w) => w.workerId)).toContain('pool-killed');
        expect(alive.filter((w) => w.workerId !== 'pool-killed')).toEqual(ownBefore);
      },
      { durationMs: 4500, intervalMs: 250 },
    );
    // kill -9: the socket closes, PostgreSQL ends the backend at once.
    const died = Date.now();
    await killed.end();
    await expectEventually(
      async () => {
        const res = await t.api.get(`/api/v1/bookings/${bookingId}`).expect(200);
        expect(res.body.references).toHaveLength(1);
      },
      { timeoutMs: 5_000 },
    );
    expect(Date.now() - died).toBeLessThan(5_000);
  });

  it('a live instance whose liveness connection is cut opens another and records it, so siblings never take it for dead', async () => {
    const own = async () =>
      (await t.dataSource.query(
        `SELECT q."workerId", q."backendPid",
                EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = q."backendPid" AND a.backend_start = q."backendStartedAt") AS alive
           FROM "QueueWorker" q ORDER BY q."workerId"`,
      )) as Array<{ workerId: string; backendPid: number; alive: boolean }>;
    const before = await own();
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((w) => w.alive)).toBe(true);
    // A database restart, a failover or an operator's pg_terminate_backend ends that backend.
    await t.dataSource.query(`SELECT pg_terminate_backend($1)`, [before[0].backendPid]);
    await expectEventually(
      async () => {
        const after = await own();
        expect(after.map((w) => w.workerId)).toEqual(before.map((w) => w.workerId));
        expect(after.every((w) => w.alive && w.backendPid !== before[0].backendPid)).toBe(true);
      },
      { timeoutMs: 5_000 },
    );
  });

  it('a job worker whose pool stopped (the database refused to record a finished job) is started again: readiness says so meanwhile, and the job runs to its end once', async () => {
    const host = await connectGoogleHost(t);
    await expectEventually(async () => {
      const jobs = await dueJobs();
      expect(jobs).toHaveLength(0);
    });
    // graphile-worker does not retry some errors when it records a job's end ("too many clients",
    // a terminated connection, a refused one): it stops its whole pool instead.
    await t.dataSource.query(
      `CREATE FUNCTION refuse_job_end() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'sorry, too many clients already' USING ERRCODE = '53300'; END $$`,
    );
    await t.dataSource.query(
      `CREATE TRIGGER refuse_job_end BEFORE DELETE ON graphile_worker._private_jobs FOR EACH ROW EXECUTE FUNCTION refuse_job_end()`,
    );
    let dropped = false;
    const drop = async () => {
      if (dropped) return;
      dropped = true;
      await t.dataSource.query(`DROP TRIGGER refuse_job_end ON graphile_worker._private_jobs`);
      await t.dataSource.query(`DROP FUNCTION refuse_job_end()`);
    };
    try {
      // Several jobs ending one after the other: each end refused (graphile-worker 0.17's batcher
      // then miscounts, and its pool never reports that it stopped).
      const titles = ['Outlived 1', 'Outlived 2', 'Outlived 3', 'Outlived 4', 'Outlived 5'];
      const summaries = () =>
        t.google
          .listEvents(host.calendarId)
          .map((e) => e.summary)
          .sort();
      const created = await Promise.all(
        titles.map((title, i) =>
          t.api
            .post('/api/v1/bookings')
            .send({ userId: host.userId, title, ...slot(6 + i), attendees: [] })
            .expect(201),
        ),
      );
      await expectEventually(
        async () => {
          const ready = await t.api.get('/health/ready').expect(503);
          expect(ready.body.error.jobWorker).toEqual({ status: 'down', message: 'the job worker is not running' });
        },
        { timeoutMs: 10_000 },
      );
      await drop();
      await expectEventually(
        async () => {
          const ready = await t.api.get('/health/ready').expect(200);
          expect(ready.body.info.jobWorker).toEqual({ status: 'up' });
          const left = await dueJobs();
          expect(left).toHaveLength(0);
        },
        { timeoutMs: 20_000 },
      );
      // Each write ran to its end; those run again after the restart found their event: one each.
      for (const { body } of created) {
        const booking = await t.api.get(`/api/v1/bookings/${body.id}`).expect(200);
        expect(booking.body.references).toHaveLength(1);
      }
      expect(summaries()).toEqual(titles);
      // And the new runner takes new work.
      const next = await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'After', ...slot(12), attendees: [] })
        .expect(201);
      await expectEventually(async () => {
        const res = await t.api.get(`/api/v1/bookings/${next.body.id}`).expect(200);
        expect(res.body.references).toHaveLength(1);
      });
      expect(summaries()).toEqual([...titles, 'After'].sort());
      // The stopped pool's ids are retired: only the running pool beats.
      const workers = await t.dataSource.query(`SELECT "workerId" FROM "QueueWorker"`);
      expect(workers).toHaveLength(1);
    } finally {
      await drop();
    }
  }, 45_000);

  it('a keyed job that fails after a newer one replaced it is not left failed for good: the newer one runs, and no job is counted as out of attempts', async () => {
    const host = await connectGoogleHost(t, { destination: false });
    await enableFlagForUser(t, 'calendar-subscription-cache', host.userId);
    const selected = await t.api
      .post(`/api/v1/users/${host.userId}/selected-calendars`)
      .send({ credentialId: host.credentialId, externalId: host.calendarId })
      .expect(201);
    await expectEventually(async () => {
      const jobs = await dueJobs();
      expect(jobs).toHaveLength(0);
    });
    const syncedAt = async () =>
      (
        (await t.dataSource.query(`SELECT "syncedAt" FROM "SelectedCalendar" WHERE "id" = $1`, [selected.body.id])) as Array<{
          syncedAt: Date;
        }>
      )[0].syncedAt;
    await runTask(t, 'subscribe-calendars');
    await expectEventually(async () => expect(await syncedAt()).not.toBeNull());
    const before = await syncedAt();
    // The next listing answers late, with an error: the sync running it fails.
    t.google.faults.failNext({ count: 1, operation: 'events.list', status: 400, reason: 'badRequest', delayMs: 1500 });
    const resync = () => t.admin.post(`/api/v1/admin/selected-calendars/${selected.body.id}/resync`).expect(202);
    await resync();
    await expectEventually(async () => {
      const running = await t.dataSource.query(
        `SELECT 1 FROM graphile_worker._private_jobs WHERE key = $1 AND locked_at IS NOT NULL`,
        [`sync-full:${selected.body.id}`],
      );
      expect(running).toHaveLength(1);
    });
    // Asked again while it runs: graphile-worker replaces it (its key cleared, its attempts at the
    // maximum) and adds a new job behind it.
    await resync();
    await expectEventually(
      async () => {
        const jobs: Array<{ attempts: number; max_attempts: number }> = await t.dataSource.query(
          `SELECT attempts, max_attempts FROM graphile_worker._private_jobs`,
        );
        expect(jobs).toEqual([]);
      },
      { timeoutMs: 10_000 },
    );
    // The newer one ran: the calendar was synced after the failure.
    expect((await syncedAt()).getTime()).toBeGreaterThan(before.getTime());
    const metrics = await t.admin.get('/metrics').expect(200);
    expect(metrics.text).not.toMatch(/calsync_queue_jobs\{[^}]*state="failed"[^}]*\} [1-9]/);
  });

  it('a replaced job whose own end was never recorded (an outage, a killed process) is swept, while a job that really failed stays counted', async () => {
    const add = (task: string, key: string | null) =>
      t.dataSource.query(
        `SELECT id FROM graphile_worker.add_job($1, '{}'::json, queue_name => $2, run_at => now() + interval '1 hour', job_key => $3, max_attempts => 5)`,
        [task, `sweep-${task}-${key ?? 'none'}`, key],
      ) as Promise<Array<{ id: string }>>;
    const [replaced] = await add('sync-calendar', 'sweep-replaced');
    const [failed] = await add('sync-calendar', null);
    const [waiting] = await add('deliver-webhooks', null);
    // What graphile-worker leaves when it replaced a running job and that job's end was never
    // recorded (then unlocked): no key, no attempt left, never an error.
    await t.dataSource.query(`UPDATE graphile_worker._private_jobs SET key = NULL, attempts = max_attempts WHERE id = $1`, [
      replaced.id,
    ]);
    await t.dataSource.query(
      `UPDATE graphile_worker._private_jobs SET attempts = max_attempts, last_error = 'provider said no' WHERE id = $1`,
      [failed.id],
    );
    const removed = await t.app.get(JobWorker, { strict: false }).sweepReplacedJobs();
    expect(removed).toBe(1);
    const left: Array<{ id: string }> = await t.dataSource.query(
      `SELECT id FROM graphile_worker._private_jobs WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [[replaced.id, failed.id, waiting.id]],
    );
    expect(left.map((r) => String(r.id))).toEqual([String(failed.id), String(waiting.id)]);
    await t.dataSource.query(`DELETE FROM graphile_worker._private_jobs WHERE id = ANY($1::bigint[])`, [[failed.id, waiting.id]]);
  });

  it('are released when the worker that locked them never registered (killed while starting), after 30 s, not before', async () => {
    const host = await connectGoogleHost(t);
    const booking = await t.dataSource.query(
      `INSERT INTO "Booking" ("uid", "userId", "title", "startTime", "endTime") VALUES (gen_random_uuid(), $1, 'Unregistered', $2, $3) RETURNING id`,
      [host.userId, slot(5).startTime, slot(5).endTime],
    );
    const bookingId: number = booking[0].id;
    // What a process killed between its worker pool taking a job and its first heartbeat leaves:
    // a job and its queue locked by a worker id no "QueueWorker" row knows.
    await t.dataSource.transaction(async (m) => {
      await m.query(
        `SELECT graphile_worker.add_job('write-booking', json_build_object('bookingId', $1::int), queue_name => 'booking:' || $1,
                run_at => now() + interval '1 hour')`,
        [bookingId],
      );
      await m.query(
        `UPDATE graphile_worker._private_jobs SET locked_at = now() - interval '20 seconds', locked_by = 'pool-never-registered',
                run_at = now() WHERE payload->>'bookingId' = $1::text`,
        [String(bookingId)],
      );
      await m.query(
        `UPDATE graphile_worker._private_job_queues SET locked_at = now() - interval '20 seconds', locked_by = 'pool-never-registered'
          WHERE queue_name = 'booking:' || $1`,
        [bookingId],
      );
    });
    const locked = async () =>
      (await t.dataSource.query(`SELECT 1 FROM graphile_worker._private_jobs WHERE locked_by = 'pool-never-registered'`)).length;
    // Locked 20 s ago: it might still be a worker about to register; left alone.
    await expectConsistently(async () => expect(await locked()).toBe(1), { durationMs: 4_000 });
    // Past 30 s it is a dead worker's: released, and the write lands.
    await expectEventually(
      async () => {
        const res = await t.api.get(`/api/v1/bookings/${bookingId}`).expect(200);
        expect(res.body.references).toHaveLength(1);
      },
      { timeoutMs: 20_000 },
    );
    expect(t.google.listEvents(host.calendarId).map((e) => e.summary)).toContain('Unregistered');
  }, 40_000);
});
