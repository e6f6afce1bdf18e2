import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { JobDefinition } from './job-definition.js';

export interface EnqueueOptions {
  /** Jobs with the same key collapse into one while waiting (graphile-worker `job_key`). */
  jobKey?: string;
  /** 'preserve_run_at' (default): a duplicate keeps the earlier run time, so repeats never postpone a job. */
  jobKeyMode?: 'replace' | 'preserve_run_at';
  /** Jobs of one queue run one at a time, across every instance. */
  queueName?: string;
  /** Run this long after the database's now (a debounce window); 0 or absent: at once. */
  delayMs?: number;
  maxAttempts?: number;
  priority?: number;
  /**
   * The lane whose slots run the job (`JobHandlerRegistry.useLane`). The job carries the lane's
   * flag (`laneFlag`), so the worker stops taking the lane's jobs while its slots are full.
   */
  lane?: string;
}

/** graphile-worker's job flag for a lane: the worker forbids it while the lane's slots are full. */
export function laneFlag(lane: string): string {
  return `lane:${lane}`;
}

/** The flags a job enqueued with these options carries (its lane's), or null. */
export function laneFlags(options: Pick<EnqueueOptions, 'lane'>): string[] | null {
  return options.lane ? [laneFlag(options.lane)] : null;
}

export interface EnqueueResult {
  /** How long, from the database's point of view at insert, until the job may start (≥ 0). */
  msUntilRun: number;
  /**
   * How long the job has been due without starting (≥ 0): above zero only when the add found a job
   * already waiting under its key whose run time has passed, i.e. the workers are behind.
   */
  overdueMs: number;
}

/**
 * Adds durable jobs. Through `manager` the job is added inside the caller's transaction, so it
 * exists exactly when the data it is about was committed.
 */
@Injectable()
export class JobQueue implements OnModuleDestroy {
  private readonly nudges = new Map<string, NodeJS.Timeout>();

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Typed: the payload is checked against the job's definition, and the definition's default
   * options apply under `options`.
   */
  enqueueJob<P extends object>(
    job: JobDefinition<P>,
    payload: P,
    options: EnqueueOptions = {},
    manager?: EntityManager,
  ): Promise<EnqueueResult> {
    return this.enqueue(job.name, payload, { ...job.options, ...options }, manager);
  }

  /**
   * Untyped, by task name. Also takes a definition (its name, its options under `options`), so a
   * module can move its job to `defineJob` before all of its callers move to `enqueueJob`.
   */
  async enqueue(
    task: string | JobDefinition<object>,
    payload: object,
    options: EnqueueOptions = {},
    manager?: EntityManager,
  ): Promise<EnqueueResult> {
    if (typeof task !== 'string') return this.enqueueJob(task, payload, options, manager);
    const runner = manager ?? this.dataSource.manager;
    const rows: Array<{ ms: number; overdue: number }> = await runner.query(
      `SELECT GREATEST(0, extract(epoch FROM (j.run_at - now())) * 1000)::float8 AS ms,
              GREATEST(0, extract(epoch FROM (now() - j.run_at)) * 1000)::float8 AS overdue
         FROM graphile_worker.add_job(
           identifier => $1::text, payload => $2::json, queue_name => $3::text,
           run_at => now() + ($4::int * interval '1 millisecond'),
           max_attempts => $5::int, job_key => $6::text, priority => $7::int, job_key_mode => $8::text,
           flags => $9::text[]) j`,
      [
        task,
        JSON.stringify(payload),
        options.queueName ?? null,
        Math.max(0, Math.round(options.delayMs ?? 0)),
        options.maxAttempts ?? 25,
        options.jobKey ?? null,
        options.priority ?? 0,
        options.jobKey ? (options.jobKeyMode ?? 'preserve_run_at') : null,
        laneFlags(options),
      ],
    );
    const msUntilRun = Number(rows[0]?.ms ?? 0);
    if (msUntilRun > 0) this.nudgeAfter(options.jobKey ?? `${task}:${Math.random()}`, msUntilRun);
    return { msUntilRun, overdueMs: Number(rows[0]?.overdue ?? 0) };
  }

  /**
   * Many jobs of one definition in one statement per thousand (graphile-worker's `add_jobs`): the
   * safety-net resync of 6,000 calendars took 6,000 round trips through `add_job`, 18 s on a busy
   * machine. Same rules as `enqueueJob` for each job (a waiting job with the same key is replaced,
   * keeping its earlier run time under 'preserve_run_at'; a running one is left to finish and a new
   * one added), but one key mode for the batch; run times are never delayed here, so no nudge is
   * needed: `add_jobs` notifies the workers itself.
   */
  async enqueueJobs<P extends object>(
    job: JobDefinition<P>,
    jobs: Array<{ payload: P; options?: EnqueueOptions }>,
    manager?: EntityManager,
  ): Promise<void> {
    const specs = jobs.map(({ payload, options }) => ({ payload, options: { ...job.options, ...options } }));
    const modes = new Set(specs.map((s) => (s.options.jobKey ? (s.options.jobKeyMode ?? 'preserve_run_at') : null)));
    modes.delete(null);
    if (modes.size > 1) throw new Error(`enqueueJobs(${job.name}): one job key mode per batch`);
    if (specs.some((s) => (s.options.delayMs ?? 0) > 0)) throw new Error(`enqueueJobs(${job.name}): no delayed jobs`);
    const runner = manager ?? this.dataSource.manager;
    for (let from = 0; from < specs.length; from += 1000) {
      const batch = specs.slice(from, from + 1000);
      await runner.query(
        `SELECT count(*) FROM graphile_worker.add_jobs(
           ARRAY(SELECT ROW($1::text, s.payload, s.queue_name, now(), s.max_attempts, s.job_key, s.priority,
                            CASE WHEN s.lane IS NULL THEN NULL ELSE ARRAY[s.lane] END)::graphile_worker.job_spec
                   FROM unnest($2::json[], $3::text[], $4::int[], $5::text[], $6::int[], $8::text[])
                        AS s(payload, queue_name, max_attempts, job_key, priority, lane)),
           $7::boolean)`,
        [
          job.name,
          batch.map((s) => JSON.stringify(s.payload)),
          batch.map((s) => s.options.queueName ?? null),
          batch.map((s) => s.options.maxAttempts ?? 25),
          batch.map((s) => s.options.jobKey ?? null),
          batch.map((s) => s.options.priority ?? 0),
          !modes.has('replace'),
          batch.map((s) => laneFlags(s.options)?.[0] ?? null),
        ],
      );
    }
  }

  /**
   * Adds a running job again (task, payload, queue, attempts allowed, priority, lane), due at
   * once: for a job the worker took although its lane was full (see
   * JobWorker.runInLane). Without its key: under the key, graphile-worker would take the key off the
   * running job and mark it used up (a crash before it completes would leave it so, never run and
   * never removed), and would overwrite a copy waiting under the key. The jobs of a lane are
   * idempotent runs of a queue (a drain, a consumer's catch-up): one run more is harmless, and the
   * copy waits for the running one's queue to be free. Its attempts start again at zero.
   */
  async requeue(
    job: {
      task_identifier: string;
      payload: unknown;
      job_queue_id: number | null;
      max_attempts: number;
      priority: number;
    },
    lane: string | null,
  ): Promise<void> {
    const [queue]: Array<{ queue_name: string }> =
      job.job_queue_id === null
        ? []
        : await this.dataSource.query(`SELECT queue_name FROM graphile_worker._private_job_queues WHERE id = $1`, [
            job.job_queue_id,
          ]);
    await this.enqueue(job.task_identifier, (job.payload ?? {}) as object, {
      queueName: queue?.queue_name,
      maxAttempts: job.max_attempts,
      priority: job.priority,
      lane: lane ?? undefined,
    });
  }

  /**
   * graphile-worker is woken by NOTIFY when a job is added, not when a delayed job becomes due;
   * without a nudge it would wait for the next poll. A lost nudge (process gone) costs one poll interval.
   */
  private nudgeAfter(key: string, ms: number): void {
    if (this.nudges.has(key)) return;
    const timer = setTimeout(() => {
      this.nudges.delete(key);
      this.dataSource.query(`SELECT pg_notify('jobs:insert', '{"count":1}')`).catch(() => undefined);
    }, ms + 1);
    timer.unref();
    this.nudges.set(key, timer);
  }

  onModuleDestroy(): void {
    for (const timer of this.nudges.values()) clearTimeout(timer);
    this.nudges.clear();
  }

  /** Jobs not yet finished for a task (waiting, running or retrying). */
  async pendingCount(task?: string): Promise<number> {
    const rows: Array<{ count: string }> = await this.dataSource.query(
      `SELECT count(*)::text AS count FROM graphile_worker.jobs WHERE ($1::text IS NULL OR task_identifier = $1)`,
      [task ?? null],
    );
    return Number(rows[0]?.count ?? 0);
  }

  /**
   * Of `values`, those a job of `job` not yet finished carries at `key` of its payload (one level of
   * nesting: `['channel', 'id']`). Read from graphile-worker's own tables: its `jobs` view has no payload.
   */
  async pendingPayloadValues<P extends object>(
    job: JobDefinition<P>,
    key: readonly [string, string],
    values: readonly string[],
  ): Promise<ReadonlySet<string>> {
    if (values.length === 0) return new Set();
    const rows: Array<{ value: string }> = await this.dataSource.query(
      `SELECT DISTINCT j.payload->$2->>$3 AS value
         FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
        WHERE t.identifier = $1 AND j.payload->$2->>$3 = ANY($4::text[])`,
      [job.name, key[0], key[1], values],
    );
    return new Set(rows.map((r) => r.value));
  }
}
