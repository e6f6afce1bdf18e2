import pg from 'pg';
import { JobWorker } from '../../src/infrastructure/queue/job-worker.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';

/**
 * graphile-worker keeps a job queue's row after its last job, and every job pick-up locks every
 * available queue row: left alone, the rows of every calendar and booking that ever had a job would
 * slow each pick-up down for good. The worker removes the empty ones, never one an enqueue in
 * flight is using.
 */
describe('Empty job queues', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const queues = async (names: string[]) =>
    (
      await t.dataSource.query(
        `SELECT queue_name AS name FROM graphile_worker._private_job_queues WHERE queue_name = ANY($1::text[]) ORDER BY queue_name`,
        [names],
      )
    ).map((r: { name: string }) => r.name);

  it('are removed within seconds, while a queue with a waiting job or a running one stays', async () => {
    const empty = Array.from({ length: 50 }, (_, i) => `calendar:gc-empty-${i}`);
    // What finished jobs leave behind: queue rows without a job.
    await t.dataSource.query(`INSERT INTO graphile_worker._private_job_queues (queue_name) SELECT unnest($1::text[])`, [empty]);
    // A job waiting in its queue (due in an hour), and a queue a live worker holds right now.
    await t.dataSource.query(
      `SELECT graphile_worker.add_job('sync-calendar', '{"selectedCalendarId": -1}'::json, queue_name => 'calendar:gc-waiting',
                                      run_at => now() + interval '1 hour', job_key => 'gc-waiting')`,
    );
    await t.dataSource.query(
      `INSERT INTO graphile_worker._private_job_queues (queue_name, locked_at, locked_by) VALUES ('calendar:gc-running', now(), 'a-live-worker')`,
    );

    await expectEventually(async () => expect(await queues(empty)).toEqual([]), { timeoutMs: 8_000 });
    expect(await queues(['calendar:gc-running', 'calendar:gc-waiting'])).toEqual(['calendar:gc-running', 'calendar:gc-waiting']);

    await t.dataSource.query(`SELECT graphile_worker.remove_job('gc-waiting')`);
    await t.dataSource.query(`DELETE FROM graphile_worker._private_job_queues WHERE queue_name = 'calendar:gc-running'`);
  });

  it('are left alone while an enqueue is in flight: its job keeps its queue', async () => {
    const worker = t.app.get(JobWorker);
    // An empty queue (its calendar's last sync finished), then a new job for it whose transaction is still open.
    await t.dataSource.query(`INSERT INTO graphile_worker._private_job_queues (queue_name) VALUES ('calendar:gc-in-flight')`);
    const enqueuer = new pg.Client({ connectionString: t.db.url });
    await enqueuer.connect();
    try {
      await enqueuer.query('BEGIN');
      await enqueuer.query(
        `SELECT graphile_worker.add_job('sync-calendar', '{"selectedCalendarId": -1}'::json, queue_name => 'calendar:gc-in-flight',
                                        run_at => now() + interval '1 hour', job_key => 'gc-in-flight')`,
      );

      const started = Date.now();
      await expect(worker.collectEmptyQueues()).resolves.toBeNull();
      expect(Date.now() - started).toBeLessThan(1_000);
      await enqueuer.query('COMMIT');
    } finally {
      await enqueuer.end();
    }

    const [job] = await t.dataSource.query(
      `SELECT j.job_queue_id AS "queueId", q.queue_name AS "queueName"
         FROM graphile_worker._private_jobs j LEFT JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id
        WHERE j.key = 'gc-in-flight'`,
    );
    expect(job).toEqual({ queueId: expect.any(Number), queueName: 'calendar:gc-in-flight' });
    // Later rounds keep it too, for as long as the job waits. (A round asked for while the worker's
    // own timed round runs, or while a pick-up holds the table, is skipped: null. Asked again until
    // one runs.)
    await expectEventually(async () => expect(await worker.collectEmptyQueues()).not.toBeNull());
    expect(await queues(['calendar:gc-in-flight'])).toEqual(['calendar:gc-in-flight']);
    await t.dataSource.query(`SELECT graphile_worker.remove_job('gc-in-flight')`);
  });

  it('are collected under a steady load too: after four busy rounds in a row, a round waits a moment for the table', async () => {
    const worker = t.app.get(JobWorker);
    // Only this test's rounds (the worker's own, every 2 s, would count too).
    clearInterval((worker as unknown as { queueCollect: NodeJS.Timeout }).queueCollect);
    await t.dataSource.query(`INSERT INTO graphile_worker._private_job_queues (queue_name) VALUES ('calendar:gc-steady')`);
    const busy = new pg.Client({ connectionString: t.db.url });
    await busy.connect();
    try {
      // An enqueue that holds the table (as one in flight always does under a steady load).
      await busy.query('BEGIN');
      await busy.query(`INSERT INTO graphile_worker._private_job_queues (queue_name) VALUES ('calendar:gc-busy')`);
      for (let round = 0; round < 4; round++) await expect(worker.collectEmptyQueues()).resolves.toBeNull();
      const started = performance.now();
      await expect(worker.collectEmptyQueues()).resolves.toBeNull();
      expect(performance.now() - started).toBeGreaterThanOrEqual(20); // this one waited for the table
      // The next waits too, and gets the table the moment the enqueue commits.
      const collecting = worker.collectEmptyQueues();
      await busy.query('COMMIT');
      await expect(collecting).resolves.toBeGreaterThanOrEqual(2);
    } finally {
      await busy.end();
    }
    expect(await queues(['calendar:gc-busy', 'calendar:gc-steady'])).toEqual([]);
  });
});
