import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import {
  type Job,
  Logger as WorkerLogger,
  type Runner,
  type TaskList,
  type WorkerEvents,
  type WorkerUtils,
  makeWorkerUtils,
  run,
} from 'graphile-worker';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import pg from 'pg';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { DATABASE_URL } from '../database/database.tokens.js';
import { type LogFields, logLine } from '../logging/logging.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import { JobQueue, laneFlag } from './job-queue.js';

const HEARTBEAT_MS = 10_000;
/** A runner that stopped by itself is started again after this long, doubling while it keeps stopping. */
const RUNNER_RESTART_MS = 1_000;
const RUNNER_RESTART_MAX_MS = 10_000;
/**
 * A runner up this long counts as recovered: the next stop waits `RUNNER_RESTART_MS` again (a
 * second outage soon after the first is not made to wait the longest delay).
 */
const RUNNER_HEALTHY_MS = 10_000;
/** How long past `JOB_TIMEOUT_MS` a failing pool may take to report that its workers ended. */
const RUNNER_END_MARGIN_MS = 15_000;

/** A lost liveness connection is opened again after this long (and again, while the database is away). */
const LIVENESS_RECONNECT_MS = 500;
const LIVENESS_RECONNECT_MAX_MS = 30_000;
/** A liveness connection or its first query taking longer than this is given up and tried again. */
const LIVENESS_TIMEOUT_MS = 5_000;
/** How often this worker looks for dead siblings: a dead worker's jobs wait at most this long. */
const RELEASE_CHECK_MS = 2_000;
/** A worker silent for this long is taken as dead even if its backend still shows (a hung process). */
const DEAD_AFTER_SECONDS = 45;
/**
 * A lock held this long by a worker id no instance ever registered is a dead worker's: a process
 * killed between its worker pool taking a job and its first heartbeat row (registration follows the
 * pool's creation by milliseconds, and the heartbeat re-inserts a missing row every 10 s).
 */
const UNREGISTERED_AFTER_SECONDS = 30;
/** How often this worker removes the job queues left empty (see `collectEmptyQueues`). */
const QUEUE_COLLECT_MS = 2_000;
/**
 * After this many rounds in a row found the queue table busy, the next one waits this long for it
 * (enqueues and pick-ups meanwhile wait behind it): under a steady load of pick-ups, never waiting
 * would never collect.
 */
const QUEUE_COLLECT_PATIENCE_ROUNDS = 4;
const QUEUE_COLLECT_WAIT_MS = 25;
/** How often (in queue collection rounds, every 2 s) replaced jobs left behind are removed. */
const REPLACED_SWEEP_ROUNDS = 15;

interface RunnerHandle {
  runner?: Runner;
  /** Its worker pool's ids (`pool:create`), released when it is replaced. */
  ids: string[];
  /** Its end was handled (restart scheduled, or we were stopping). */
  ended: boolean;
  /** Why it is shutting down by itself (`pool:fatalError`). */
  fatal: unknown;
  fallback?: NodeJS.Timeout;
}

/**
 * Runs the graphile-worker loop in this process: LISTEN/NOTIFY pick-up, retries with backoff.
 * graphile-worker only frees the jobs of a crashed worker after four hours; each live worker
 * heartbeats here and releases the jobs (and per-calendar queues) of workers that stopped.
 */
@Injectable()
export class JobWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('JobWorker');
  /** The runner started last, and how it is doing. */
  private current?: RunnerHandle;
  private utils?: WorkerUtils;
  private pool?: pg.Pool;
  private heartbeat?: NodeJS.Timeout;
  private releaseCheck?: NodeJS.Timeout;
  private queueCollect?: NodeJS.Timeout;
  private collecting = false;
  private collectRounds = 0;
  private busyCollections = 0;
  /** Held open for the worker's life; its backend's presence in pg_stat_activity says we are alive. */
  private liveness?: pg.Client;
  private livenessReconnect?: NodeJS.Timeout;
  private livenessConnecting?: Promise<void>;
  private livenessAttempts = 0;
  private stopping = false;
  private backendPid?: number;
  private readonly workerIds = new Set<string>();
  private runnerUp = false;
  private taskList: TaskList = {};
  private concurrency = 1;
  /** A restart of a runner that stopped by itself, waiting for its delay (`runnerStopped`). */
  private restartTimer?: NodeJS.Timeout;
  private restarting?: Promise<void>;
  private restartAttempts = 0;
  /** Jobs of each lane running in this process. */
  private readonly laneRunning = new Map<string, number>();

  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly queue: JobQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const taskList: TaskList = {};
    for (const [task, handler] of this.registry.entries()) {
      const lane = this.registry.laneOf(task);
      taskList[task] = (payload, helpers) => {
        const attempt = () =>
          this.runBounded(task, helpers.abortSignal, (signal) =>
            handler(payload, {
              attempts: helpers.job.attempts,
              maxAttempts: helpers.job.max_attempts,
              jobId: String(helpers.job.id),
              signal,
              logFields: { jobId: String(helpers.job.id), task },
            }),
          );
        const run = lane ? this.runInLane(lane, helpers.job, attempt) : attempt();
        return helpers.job.key ? run.catch((error: unknown) => this.unlessReplaced(helpers.job, error)) : run;
      };
    }
    // Lanes (`JobHandlerRegistry.useLane`) add their slots to the one runner rather than run a
    // runner of their own: measured here, a second graphile-worker runner in the process left the
    // first one's delayed jobs (a push's debounced sync) to its 2 s poll instead of the NOTIFY
    // nudge in a third of the cases (push → rescheduled p99 2 s instead of 70 ms). A lane's jobs
    // carry its flag, and the runner takes none of a full lane (`forbiddenFlags`, `runInLane`), so
    // however many webhook endpoints hang, the default lane keeps its WORKER_CONCURRENCY slots.
    const laneSlots = this.registry.lanes().reduce((sum, [, concurrency]) => sum + concurrency, 0);
    const pool = new pg.Pool({ connectionString: this.databaseUrl, max: this.config.workerConcurrency + laneSlots + 3 });
    pool.on('error', (error) => this.connectionLost('queue pool', error));
    pool.on('connect', (client) => client.on('error', (error) => this.connectionLost('queue connection', error)));
    this.pool = pool;
    await this.connectLiveness();
    this.utils = await makeWorkerUtils({ pgPool: pool, logger: this.workerLogger() });
    await this.releaseDeadWorkers();
    this.taskList = taskList;
    this.concurrency = this.config.workerConcurrency + laneSlots;
    await this.startRunner();
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.releaseCheck = setInterval(() => void this.releaseDeadWorkers(), RELEASE_CHECK_MS);
    this.releaseCheck.unref();
    this.queueCollect = setInterval(() => void this.collectEmptyQueues(), QUEUE_COLLECT_MS);
    this.queueCollect.unref();
  }

  /**
   * Starts a graphile-worker runner: its worker pool picks up jobs until it stops. It stops by itself
   * when the database refuses to record a finished or failed job (a restart or failover terminating
   * its connection, "too many clients", a refused connection): its queue could be inconsistent, so
   * it shuts its pool down. Left so, this process would serve HTTP with no job ever run again until
   * someone restarted it; `runnerStopped` starts another.
   */
  private async startRunner(): Promise<void> {
    const handle: RunnerHandle = { ids: [], ended: false, fatal: undefined };
    this.current = handle;
    // Listen before `run`: the worker pool announces its id while starting.
    const events = new EventEmitter() as WorkerEvents;
    events.on('pool:create', ({ workerPool }) => {
      handle.ids.push(workerPool.id);
      this.workerIds.add(workerPool.id);
      void this.beat();
    });
    events.on('pool:fatalError', ({ error }) => this.runnerFailing(handle, error));
    // Its workers have all ended (their jobs finished or were aborted): see `runnerFailing`.
    const workersDone = () => {
      if (handle.fatal !== undefined) this.runnerStopped(handle, handle.fatal);
    };
    events.on('pool:gracefulShutdown:complete', workersDone);
    events.on('pool:gracefulShutdown:error', workersDone);
    events.on('pool:forcefulShutdown:complete', workersDone);
    events.on('pool:forcefulShutdown:error', workersDone);
    const runner = await run({
      events,
      pgPool: this.pool,
      taskList: this.taskList,
      concurrency: this.concurrency,
      // A full lane's jobs are not taken: its waiting jobs never take the slots of the default lane.
      forbiddenFlags: () => this.fullLanes(),
      pollInterval: this.config.queuePollIntervalMs,
      noHandleSignals: true,
      logger: this.workerLogger(),
      // Without batching, graphile-worker 0.17 records a job's end without awaiting it, so a
      // database error it does not retry there (a terminated connection during a restart or
      // failover, "too many clients") is an unhandled rejection, and Node ends the process. Batched
      // (delay 0: the ends of one tick in one statement), the error shuts the worker pool down
      // instead (`runnerFailing`).
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    });
    handle.runner = runner;
    this.runnerUp = true;
    // The runner's promise settles when it stops: on our stop, or by itself.
    runner.promise.then(
      () => this.runnerStopped(handle, null),
      (error: unknown) => this.runnerStopped(handle, error),
    );
  }

  /**
   * The pool could not record a job's end and is shutting down: readiness says so at once. Its
   * promise cannot be waited for: after a failed batch, graphile-worker 0.17's batcher miscounts
   * the batches still pending (its back-pressure promise is never cleared), so with more than one
   * job ending during the shutdown the pool's promise never settles. Its shutdown events still come
   * once every worker has ended, and the restart follows them; in case none comes, it follows
   * `JOB_TIMEOUT_MS` later (no attempt outlives that) and a margin.
   */
  private runnerFailing(handle: RunnerHandle, error: unknown): void {
    if (handle !== this.current || handle.fatal !== undefined || handle.ended) return;
    handle.fatal = error ?? new Error('the job worker pool failed');
    this.runnerUp = false;
    handle.fallback = setTimeout(() => this.runnerStopped(handle, handle.fatal), this.config.jobTimeoutMs + RUNNER_END_MARGIN_MS);
    handle.fallback.unref();
  }

  private runnerStopped(handle: RunnerHandle, error: unknown): void {
    if (handle !== this.current || handle.ended) return;
    handle.ended = true;
    if (handle.fallback) clearTimeout(handle.fallback);
    this.runnerUp = false;
    if (this.stopping) return;
    const reason = error === null ? 'its worker pool ended, see above' : error instanceof Error ? error.message : String(error);
    // 1 s, doubling to 10 s while it keeps stopping; back to 1 s once one has run for 10 s.
    const delay = Math.min(RUNNER_RESTART_MAX_MS, RUNNER_RESTART_MS * 2 ** this.restartAttempts);
    this.restartAttempts += 1;
    this.logger.error(`The job worker stopped (${reason}); starting it again in ${delay / 1000} s`);
    this.scheduleRestart(handle.ids, delay);
  }

  private scheduleRestart(ids: string[], delay: number): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarting = this.restartRunner(ids).finally(() => (this.restarting = undefined));
    }, delay);
    this.restartTimer.unref();
  }

  /**
   * The stopped runner's jobs are released first: its pool ends once its workers have finished or
   * been aborted (a job still winding down after its abort signal stops at its next step), and the
   * jobs are picked up again (they are idempotent, as when a sibling releases a dead worker's).
   * Its worker ids are then retired.
   */
  private async restartRunner(ids: string[]): Promise<void> {
    if (this.stopping || !this.utils || !this.pool) return;
    try {
      if (ids.length > 0) {
        await this.utils.forceUnlockWorkers(ids);
        await this.pool.query(`DELETE FROM "QueueWorker" WHERE "workerId" = ANY($1::text[])`, [ids]);
        for (const id of ids) this.workerIds.delete(id);
        await this.sweepReplacedJobs();
      }
      if (this.stopping) return;
      await this.startRunner();
      this.logger.log('The job worker is running again');
      const handle = this.current;
      const healthy = setTimeout(() => {
        if (this.current === handle && this.runnerUp) this.restartAttempts = 0;
      }, RUNNER_HEALTHY_MS);
      healthy.unref();
    } catch (error) {
      if (this.stopping) return;
      const delay = Math.min(RUNNER_RESTART_MAX_MS, RUNNER_RESTART_MS * 2 ** this.restartAttempts);
      this.restartAttempts += 1;
      this.logger.warn(
        `The job worker could not start again (${error instanceof Error ? error.message : String(error)}); next try in ${delay / 1000} s`,
      );
      this.scheduleRestart(ids, delay);
    }
  }

  /**
   * A keyed job added again while it ran was replaced: graphile-worker cleared its key, set its
   * attempts to the maximum and added a new job for the newer work. Its own failure then left it
   * failed for good, never retried nor removed (a permanently failed job, which the
   * `CalsyncQueueFailedJobs` alert reports). The replacement carries the work, so the failure of a
   * replaced job ends it instead: it is logged and the job completes (its row goes). When the check
   * itself fails, the attempt fails as it would have.
   */
  private async unlessReplaced(job: Job, error: unknown): Promise<void> {
    const replaced = await this.pool
      ?.query<{ replaced: boolean }>(`SELECT key IS NULL AS replaced FROM graphile_worker._private_jobs WHERE id = $1`, [job.id])
      .then(({ rows }) => rows[0]?.replaced === true)
      .catch(() => false);
    if (!replaced) throw error;
    const message = error instanceof Error ? error.message : String(error);
    this.logger.warn(
      logLine(`Job ${job.task_identifier} failed after a newer one replaced it (${message}); the newer one runs`, {
        jobId: String(job.id),
        task: job.task_identifier,
      }),
    );
  }

  /**
   * Removes the replaced jobs whose end was never recorded: a keyed job added again while it ran
   * has its attempts set to the maximum by graphile-worker (a newer job carries the work), and when
   * the database refused its end (the outages the runner restarts after) or its process died, it
   * was unlocked out of attempts and would stay failed for good. Such a row never failed
   * (`last_error` is null) yet has no attempt left: nothing would ever run it; the sweep removes
   * it so `calsync_queue_jobs{state="failed"}` counts only jobs that failed. (No calsync job has a
   * single attempt, the only other way to be out of attempts without an error.)
   */
  async sweepReplacedJobs(): Promise<number> {
    if (!this.pool) return 0;
    const { rowCount } = await this.pool
      .query(
        `DELETE FROM graphile_worker._private_jobs
          WHERE locked_at IS NULL AND key IS NULL AND attempts >= max_attempts AND last_error IS NULL`,
      )
      .catch((error: Error) => {
        if (this.runnerUp) this.logger.warn(`removing replaced jobs: ${error.message}`);
        return { rowCount: 0 };
      });
    return rowCount ?? 0;
  }

  /** The flags of the lanes whose slots in this process are all taken (graphile-worker skips their jobs). */
  private fullLanes(): string[] {
    const full: string[] = [];
    for (const [lane, concurrency] of this.registry.lanes()) {
      if ((this.laneRunning.get(lane) ?? 0) >= concurrency) full.push(laneFlag(lane));
    }
    return full;
  }

  /**
   * Runs a lane's job in one of the lane's slots. The flag check comes before graphile-worker's
   * fetch, so workers looking for a job at the same moment (a burst of added jobs nudges several)
   * can all see the last free slot: a job taken past the lane's concurrency is added again as it
   * was, with the lane's flag (so no worker takes it while the lane stays full: no spinning), and
   * this attempt ends without running it (no backoff). So the lane never runs more than its slots
   * and the default lane keeps its own.
   */
  private async runInLane(lane: string, job: Job, attempt: () => Promise<void>): Promise<void> {
    const running = this.laneRunning.get(lane) ?? 0;
    if (running >= this.registry.concurrencyOf(lane)) {
      await this.queue.requeue(job, lane);
      return;
    }
    this.laneRunning.set(lane, running + 1);
    try {
      await attempt();
    } finally {
      this.laneRunning.set(lane, (this.laneRunning.get(lane) ?? 1) - 1);
    }
  }

  /**
   * Runs one attempt of a job for at most `JOB_TIMEOUT_MS`: past that, its signal fires and the
   * attempt fails at once (graphile-worker retries it with backoff), so one hung step never holds a
   * calendar's queue for good. The handler sees the same signal (and the worker's own shutdown
   * signal) and stops at its next step.
   */
  private async runBounded(task: string, shutdown: AbortSignal, run: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const ms = this.config.jobTimeoutMs;
    const timedOut = new AbortController();
    const signal = AbortSignal.any([timedOut.signal, shutdown]);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`Job ${task} did not finish within JOB_TIMEOUT_MS (${ms} ms); aborted, it will be retried`);
        timedOut.abort(error);
        reject(error);
      }, ms);
      timer.unref();
    });
    try {
      await Promise.race([run(signal), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The connection whose backend stands for this process being alive (see `releaseDeadWorkers`).
   * When it is lost (a database restart or failover, a terminated backend, a network cut) while the
   * process lives on, a new one is opened and the heartbeat records its backend: otherwise every
   * sibling would take this live instance for dead, for good, and release the jobs it is running
   * every few seconds. Between the loss and the new backend's first heartbeat (about a second), a
   * sibling may release them once; the jobs are idempotent and their queues keep one runner each.
   */
  private async connectLiveness(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      connectionTimeoutMillis: LIVENESS_TIMEOUT_MS,
      query_timeout: LIVENESS_TIMEOUT_MS,
    });
    client.on('error', (error) => {
      this.connectionLost('queue liveness connection', error);
      this.reconnectLiveness(client);
    });
    client.on('end', () => this.reconnectLiveness(client));
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
      if (this.stopping) throw new Error('shutting down');
      this.liveness = client;
      this.backendPid = rows[0].pid;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private reconnectLiveness(lost: pg.Client): void {
    if (this.stopping || lost !== this.liveness || this.livenessReconnect) return;
    // 0.5 s, doubling to 30 s while the database stays away.
    const delay = Math.min(LIVENESS_RECONNECT_MAX_MS, LIVENESS_RECONNECT_MS * 2 ** this.livenessAttempts);
    this.livenessAttempts += 1;
    this.livenessReconnect = setTimeout(() => {
      this.livenessConnecting = this.connectLiveness()
        .then(() => {
          this.livenessAttempts = 0;
          return this.beat();
        })
        .catch((error: Error) => {
          if (!this.stopping) this.connectionLost('queue liveness reconnect', error);
        })
        .finally(() => {
          this.livenessReconnect = undefined;
          this.livenessConnecting = undefined;
          // Still the lost one (the database is not back yet): try again.
          if (this.liveness === lost) this.reconnectLiveness(lost);
        });
    }, delay);
    this.livenessReconnect.unref();
  }

  /** Whether this instance's runner is picking up jobs (`/health/ready`). */
  get running(): boolean {
    return this.runnerUp;
  }

  /** Before the database connections close: running jobs finish on a live database. */
  async beforeApplicationShutdown(): Promise<void> {
    this.runnerUp = false;
    this.stopping = true;
    if (this.livenessReconnect) clearTimeout(this.livenessReconnect);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.livenessConnecting;
    await this.restarting;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.releaseCheck) clearInterval(this.releaseCheck);
    if (this.queueCollect) clearInterval(this.queueCollect);
    // A runner that failed has shut its pool down already (and its promise may never settle).
    const current = this.current;
    if (current?.runner && current.fatal === undefined && !current.ended) await current.runner.stop().catch(() => undefined);
    if (current?.fallback) clearTimeout(current.fallback);
    // Anything still marked as ours is released for the other instances (or our next start).
    const ids = [...this.workerIds];
    if (ids.length > 0 && this.utils) {
      await this.utils.forceUnlockWorkers(ids).catch(() => undefined);
      await this.pool?.query(`DELETE FROM "QueueWorker" WHERE "workerId" = ANY($1::text[])`, [ids]).catch(() => undefined);
    }
    await Promise.resolve(this.utils?.release()).catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    await this.liveness?.end().catch(() => undefined);
  }

  private async beat(): Promise<void> {
    if (!this.pool || this.workerIds.size === 0) return;
    await this.pool
      .query(
        // The backend's start time is read in SQL, never round-tripped through a JS Date (which
        // would cut its microseconds, and the comparison in releaseDeadWorkers would then fail).
        `INSERT INTO "QueueWorker" ("workerId", "host", "backendPid", "backendStartedAt")
         SELECT unnest($1::text[]), $2, $3::int, (SELECT backend_start FROM pg_stat_activity WHERE pid = $3::int)
         ON CONFLICT ("workerId") DO UPDATE SET "heartbeatAt" = now(), "backendPid" = EXCLUDED."backendPid",
           "backendStartedAt" = EXCLUDED."backendStartedAt"`,
        [[...this.workerIds], `${hostname()}:${process.pid}`, this.backendPid ?? null],
      )
      .catch((error: Error) => this.logger.warn(`heartbeat: ${error.message}`));
  }

  private async releaseDeadWorkers(): Promise<void> {
    if (!this.pool || !this.utils) return;
    try {
      // Dead: its liveness backend is gone (PostgreSQL ends it as soon as the process's socket
      // closes), or it has been silent too long. A backend is matched by pid and start time, so a
      // recycled pid is not mistaken for the old worker.
      const { rows } = await this.pool.query<{ workerId: string }>(
        `DELETE FROM "QueueWorker" q
          WHERE q."workerId" <> ALL ($2::text[])
            AND (q."heartbeatAt" < now() - ($1::int * interval '1 second')
             OR (q."backendPid" IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM pg_stat_activity a
                   WHERE a.pid = q."backendPid"
                     AND (q."backendStartedAt" IS NULL OR a.backend_start IS NULL OR a.backend_start = q."backendStartedAt"))))
          RETURNING q."workerId"`,
        [DEAD_AFTER_SECONDS, [...this.workerIds]],
      );
      const { rows: unknown } = await this.pool.query<{ workerId: string }>(
        `SELECT l.locked_by AS "workerId"
           FROM (SELECT locked_by FROM graphile_worker._private_jobs
                  WHERE locked_by IS NOT NULL AND locked_at < now() - ($1::int * interval '1 second')
                 UNION
                 SELECT locked_by FROM graphile_worker._private_job_queues
                  WHERE locked_by IS NOT NULL AND locked_at < now() - ($1::int * interval '1 second')) l
          WHERE l.locked_by <> ALL ($2::text[])
            AND NOT EXISTS (SELECT 1 FROM "QueueWorker" q WHERE q."workerId" = l.locked_by)`,
        [UNREGISTERED_AFTER_SECONDS, [...this.workerIds]],
      );
      const dead = [...rows, ...unknown].map((r) => r.workerId);
      if (dead.length === 0) return;
      await this.utils.forceUnlockWorkers(dead);
      this.logger.warn(`Released the jobs of ${dead.length} queue worker(s) that stopped without shutting down`);
    } catch (error) {
      this.logger.warn(`releasing dead workers: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * Removes the job queues no job is in: how many, or null when the queues were busy at that moment.
   *
   * Why: graphile-worker keeps a queue's row after its last job, and each job pick-up locks every
   * available queue row (`getJobs`' "strategy 2"), so the pick-up costs grow with every calendar
   * and booking that ever had a job (11 ms of PostgreSQL CPU per pick-up at 6,000 rows, against
   * well under 1 ms with a few). graphile-worker's own `cleanup` (`GC_JOB_QUEUES`) can delete a
   * queue an `add_job` still in flight uses: between its two statements, and the job is added
   * without a queue (a sync that may overlap another of the calendar's); or after its job's insert,
   * not yet committed, and the job points at a queue that is gone (never picked up). Here the table is
   * locked against inserts first (`add_job` inserts its queue row before its job, holding the
   * lock to its commit), without waiting: when an enqueue or a pick-up is in flight the collection
   * is left to the next round, and only after `QUEUE_COLLECT_PATIENCE_ROUNDS` busy rounds in a row
   * does one wait, at most `QUEUE_COLLECT_WAIT_MS`. Rows another transaction holds are skipped.
   */
  async collectEmptyQueues(): Promise<number | null> {
    // One round at a time: with the pool busy, a round waits for a connection, and the next ones skip.
    if (!this.pool || this.collecting) return null;
    this.collecting = true;
    try {
      this.collectRounds += 1;
      if (this.collectRounds % REPLACED_SWEEP_ROUNDS === 0) await this.sweepReplacedJobs();
      const client = await this.pool.connect().catch(() => null);
      return client ? await this.collectWith(client) : null;
    } finally {
      this.collecting = false;
    }
  }

  private async collectWith(client: pg.PoolClient): Promise<number | null> {
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const wait = this.busyCollections >= QUEUE_COLLECT_PATIENCE_ROUNDS;
      if (wait) await client.query(`SET LOCAL lock_timeout = ${QUEUE_COLLECT_WAIT_MS}`);
      await client.query(`LOCK TABLE graphile_worker._private_job_queues IN SHARE ROW EXCLUSIVE MODE${wait ? '' : ' NOWAIT'}`);
      const { rowCount } = await client.query(
        `DELETE FROM graphile_worker._private_job_queues
          WHERE id IN (SELECT q.id FROM graphile_worker._private_job_queues q
                        WHERE q.locked_at IS NULL
                          AND NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs j WHERE j.job_queue_id = q.id)
                          FOR UPDATE SKIP LOCKED)`,
      );
      await client.query('COMMIT');
      this.busyCollections = 0;
      return rowCount ?? 0;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      // 55P03: the table was busy (an enqueue or a pick-up in flight); the next round tries again.
      if ((error as { code?: string }).code === '55P03') this.busyCollections += 1;
      else if (this.runnerUp) {
        this.logger.warn(`collecting empty job queues: ${error instanceof Error ? error.message : String(error)}`);
      }
      return null;
    } finally {
      client.release(broken);
    }
  }

  /**
   * The pool replaces a lost connection by itself. A database going down for a restart (or, with the
   * embedded PostgreSQL, stopping together with this process) is routine, not a warning.
   */
  private connectionLost(what: string, error: Error & { code?: string }): void {
    const routine = error.code === '57P01' || /Connection terminated/.test(error.message);
    if (routine) this.logger.debug(`${what}: ${error.message}`);
    else this.logger.warn(`${what}: ${error.message}`);
  }

  private workerLogger(): WorkerLogger {
    return new WorkerLogger((scope) => (level, message, meta) => {
      // A line about a job (its failure, reported after the handler returned) names it: jobId and
      // task, from the line's scope or, for the worker's own lines ("Failed task …", "Completed
      // task …", logged by the worker's logger, whose scope has no job), from the job it passes.
      const job = (meta as { job?: { id?: string | number; task_identifier?: string } } | undefined)?.job;
      const jobId = scope.jobId ?? job?.id;
      const fields =
        jobId === undefined
          ? undefined
          : { jobId: String(jobId), task: scope.taskIdentifier ?? job?.task_identifier ?? 'unknown' };
      this.logWorkerLine(scope, level, message, fields);
    });
  }

  private logWorkerLine(scope: { label?: string }, level: string, message: string, fields: LogFields | undefined): void {
    // A failed attempt is retried with backoff; only the last one is an error. (An attempt that
    // succeeded after a failure says "attempt n of m" too, at info level: not a warning.)
    const failedAttempt = level === 'error' ? /attempt (\d+) of (\d+)/.exec(message) : null;
    if (failedAttempt && failedAttempt[1] !== failedAttempt[2]) this.logger.warn(logLine(message.split('\n')[0], fields));
    // The database going down with us (Ctrl-C reaches the embedded PostgreSQL too): routine.
    else if (/UNLISTEN/.test(message) && /administrator command|Connection terminated/.test(message)) this.logger.debug(message);
    else if (level === 'error') this.logger.error(logLine(message, fields));
    else if (level === 'warning') this.logger.warn(logLine(message, fields));
    else if (scope.label === 'job') this.logger.verbose(logLine(message, fields));
  }
}
