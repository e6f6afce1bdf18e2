import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Logger as WorkerLogger, Runner, TaskList, run } from 'graphile-worker';
import pg from 'pg';
import { APP_CONFIG, AppConfig } from '../../config/app-config.js';
import { DATABASE_URL } from '../database/database.tokens.js';
import { JobHandlerRegistry } from './job-handler.registry.js';

/** Runs the graphile-worker loop in this process: LISTEN/NOTIFY pick-up, retries with backoff. */
@Injectable()
export class JobWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('JobWorker');
  private runner?: Runner;
  private pool?: pg.Pool;

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
    this.pool = new pg.Pool({ connectionString: this.databaseUrl, max: this.config.workerConcurrency + 2 });
    this.pool.on('error', (error) => this.logger.warn(`queue pool: ${error.message}`));
    this.runner = await run({
      pgPool: this.pool,
      taskList,
      concurrency: this.config.workerConcurrency,
      pollInterval: this.config.queuePollIntervalMs,
      noHandleSignals: true,
      logger: new WorkerLogger((scope) => (level, message) => {
        if (level === 'error') this.logger.error(message);
        else if (level === 'warning') {
          // Failed attempts are retried; the handler already logged the cause.
          if (!message.includes('Failed task')) this.logger.warn(message);
          else this.logger.debug(message);
        } else if (scope.label === 'job') this.logger.verbose(message);
      }),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner?.stop().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
  }
}
