import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import {
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
import { JobHandlerRegistry } from './job-handler.registry.js';

const HEARTBEAT_MS = 10_000;
/** A worker silent for this long is taken as dead and its jobs are released to the others. */
const DEAD_AFTER_SECONDS = 45;

/**
 * Runs the graphile-worker loop in this process: LISTEN/NOTIFY pick-up, retries with backoff.
 * graphile-worker only frees the jobs of a crashed worker after four hours; each live worker
 * heartbeats here and releases the jobs (and per-calendar queues) of workers that stopped.
 */
@Injectable()
export class JobWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('JobWorker');
  private runner?: Runner;
  private utils?: WorkerUtils;
  private pool?: pg.Pool;
  private heartbeat?: NodeJS.Timeout;
  private readonly workerIds = new Set<string>();

  constructor(
    private readonly registry: JobHandlerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const taskList: TaskList = {};
    for (const [task, handler] of this.registry.entries()) {
      taskList[task] = async (payload, helpers) => {
        await handler(payload, {
          attempts: helpers.job.attempts,
          maxAttempts: helpers.job.max_attempts,
          jobId: String(helpers.job.id),
        });
      };
    }
    const pool = new pg.Pool({ connectionString: this.databaseUrl, max: this.config.workerConcurrency + 3 });
    pool.on('error', (error) => this.connectionLost('queue pool', error));
    pool.on('connect', (client) => client.on('error', (error) => this.connectionLost('queue connection', error)));
    this.pool = pool;
    this.utils = await makeWorkerUtils({ pgPool: pool, logger: this.workerLogger() });
    await this.releaseDeadWorkers();
    // Listen before `run`: the worker pool announces its id while starting.
    const events = new EventEmitter() as WorkerEvents;
    events.on('pool:create', ({ workerPool }) => {
      this.workerIds.add(workerPool.id);
      void this.beat();
    });
    this.runner = await run({
      events,
      pgPool: pool,
      taskList,
      concurrency: this.config.workerConcurrency,
      pollInterval: this.config.queuePollIntervalMs,
      noHandleSignals: true,
      logger: this.workerLogger(),
    });
    await this.beat();
    this.heartbeat = setInterval(() => {
      void this.beat().then(() => this.releaseDeadWorkers());
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Before the database connections close: running jobs finish on a live database. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.runner?.stop().catch(() => undefined);
    // Anything still marked as ours is released for the other instances (or our next start).
    const ids = [...this.workerIds];
    if (ids.length > 0 && this.utils) {
      await this.utils.forceUnlockWorkers(ids).catch(() => undefined);
      await this.pool?.query(`DELETE FROM "QueueWorker" WHERE "workerId" = ANY($1::text[])`, [ids]).catch(() => undefined);
    }
    await Promise.resolve(this.utils?.release()).catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
  }

  private async beat(): Promise<void> {
    if (!this.pool || this.workerIds.size === 0) return;
    await this.pool
      .query(
        `INSERT INTO "QueueWorker" ("workerId", "host") SELECT unnest($1::text[]), $2
         ON CONFLICT ("workerId") DO UPDATE SET "heartbeatAt" = now()`,
        [[...this.workerIds], `${hostname()}:${process.pid}`],
      )
      .catch((error: Error) => this.logger.warn(`heartbeat: ${error.message}`));
  }

  private async releaseDeadWorkers(): Promise<void> {
    if (!this.pool || !this.utils) return;
    try {
      const { rows } = await this.pool.query<{ workerId: string }>(
        `DELETE FROM "QueueWorker" WHERE "heartbeatAt" < now() - ($1::int * interval '1 second') RETURNING "workerId"`,
        [DEAD_AFTER_SECONDS],
      );
      if (rows.length === 0) return;
      await this.utils.forceUnlockWorkers(rows.map((r) => r.workerId));
      this.logger.warn(`Released the jobs of ${rows.length} queue worker(s) that stopped without shutting down`);
    } catch (error) {
      this.logger.warn(`releasing dead workers: ${error instanceof Error ? error.message : String(error)}`);
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
    return new WorkerLogger((scope) => (level, message) => {
      // A failed attempt is retried with backoff; only the last one is an error.
      const failedAttempt = /attempt (\d+) of (\d+)/.exec(message);
      if (failedAttempt && failedAttempt[1] !== failedAttempt[2]) this.logger.warn(message.split('\n')[0]);
      else if (level === 'error') this.logger.error(message);
      else if (level === 'warning') this.logger.warn(message);
      else if (scope.label === 'job') this.logger.verbose(message);
    });
  }
}
