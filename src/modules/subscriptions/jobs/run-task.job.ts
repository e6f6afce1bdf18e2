import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { RUN_TASK_JOB, runTaskJobOptions, type TaskName } from '../subscriptions.jobs.js';
import { TaskRunner } from '../task-runner.js';

/**
 * Runs `RUN_TASK_JOB`, and schedules it. Every instance's timer fires at the same wall-clock
 * boundaries (multiples of the task's interval since the epoch); the first instance to claim a
 * tick in "ScheduledTaskTick" enqueues the run in the same transaction, so each tick runs once
 * however many instances are up (a job key alone dedupes a waiting run, not one that already
 * finished a second earlier). Ticks are rounded to the nearest boundary, so a timer firing a
 * millisecond early or late still claims the tick it was meant for. Intervals come from
 * configuration, so the timers are registered here rather than with decorators (nor graphile's
 * crontab, whose granularity is a minute).
 */
@Injectable()
export class RunTaskJob implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('ScheduledTasks');

  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly jobs: JobQueue,
    private readonly tasks: TaskRunner,
    private readonly scheduler: SchedulerRegistry,
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.handle(RUN_TASK_JOB, async ({ task }) => {
      const report = await this.tasks.run(task);
      this.logger.debug(`${report.task}: ${JSON.stringify(report.result)}`);
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.schedulerEnabled) return;
    this.every('subscribe-calendars', 60);
    this.every('resync-calendars', this.config.resyncIntervalSeconds);
    this.every('cleanup-cache', 86_400);
    // Right after start-up, not a full interval later: channels to open or renew, and changes
    // made while no instance was up (their pushes went nowhere) are fetched now. One waiting run
    // per task whatever the number of instances starting (job key `task:<name>`).
    void this.enqueue('subscribe-calendars');
    void this.enqueue('resync-calendars');
  }

  private every(task: TaskName, seconds: number): void {
    const intervalMs = seconds * 1000;
    const name = `task:${task}`;
    const arm = () => {
      const delay = intervalMs - (Date.now() % intervalMs);
      const timer = setTimeout(() => {
        if (this.scheduler.doesExist('timeout', name)) this.scheduler.deleteTimeout(name);
        void this.claimTick(task, intervalMs);
        arm();
      }, delay);
      timer.unref();
      this.scheduler.addTimeout(name, timer);
    };
    arm();
  }

  /** Enqueues the task's run for this tick, unless another instance already did. */
  private async claimTick(task: TaskName, intervalMs: number): Promise<void> {
    const tick = Math.round(Date.now() / intervalMs);
    try {
      await this.dataSource.transaction(async (manager) => {
        const claimed: unknown[] = await manager.query(
          `INSERT INTO "ScheduledTaskTick" ("task", "tick") VALUES ($1, $2)
           ON CONFLICT ("task") DO UPDATE SET "tick" = EXCLUDED."tick", "claimedAt" = clock_timestamp()
             WHERE "ScheduledTaskTick"."tick" < EXCLUDED."tick"
           RETURNING "task"`,
          [task, tick],
        );
        if (claimed.length > 0) {
          await this.jobs.enqueueJob(RUN_TASK_JOB, { task }, runTaskJobOptions(task, 'preserve_run_at'), manager);
        }
      });
    } catch (error) {
      this.logger.warn(`Could not schedule ${task}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async enqueue(task: TaskName): Promise<void> {
    try {
      await this.jobs.enqueueJob(RUN_TASK_JOB, { task }, runTaskJobOptions(task, 'preserve_run_at'));
    } catch (error) {
      this.logger.warn(`Could not schedule ${task}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
