import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { defineJob } from '../../infrastructure/queue/job-definition.js';
import { JobHandlerRegistry } from '../../infrastructure/queue/job-handler.registry.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyStore } from './idempotency.store.js';

/** Removes idempotency keys past their 24 hours. One waiting run at a time (job key). */
export const IDEMPOTENCY_CLEANUP_JOB = defineJob<Record<string, never>>('idempotency-cleanup', {
  maxAttempts: 3,
  jobKey: 'idempotency-cleanup',
  jobKeyMode: 'preserve_run_at',
});

const CLEANUP_EVERY_MS = 60 * 60 * 1000;

/** Runs the clean-up job, and (with `SCHEDULER_ENABLED`) queues it hourly; the queue runs it once however many instances tick. */
@Injectable()
export class IdempotencyCleanup implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('IdempotencyCleanup');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: IdempotencyStore,
    private readonly registry: JobHandlerRegistry,
    private readonly jobs: JobQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.handle(IDEMPOTENCY_CLEANUP_JOB, async () => {
      await this.run();
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.schedulerEnabled) return;
    this.timer = setInterval(() => {
      this.jobs.enqueueJob(IDEMPOTENCY_CLEANUP_JOB, {}).catch((error: unknown) => {
        this.logger.warn(
          `Could not schedule the idempotency clean-up: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    }, CLEANUP_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async run(): Promise<{ deletedKeys: number }> {
    const deletedKeys = await this.store.removeExpired();
    if (deletedKeys > 0) this.logger.debug(`removed ${deletedKeys} expired idempotency keys`);
    return { deletedKeys };
  }
}

/** `Idempotency-Key` support (see `IdempotencyStore`); owns the "IdempotencyKey" table. */
@Global()
@Module({
  providers: [IdempotencyStore, IdempotencyInterceptor, IdempotencyCleanup],
  exports: [IdempotencyStore, IdempotencyInterceptor],
})
export class IdempotencyModule {}
