import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { RUN_TASK_JOB, runTaskJobOptions, type TaskName } from '../subscriptions.jobs.js';
import { TaskRunner } from '../task-runner.js';

/**
 * Runs `RUN_TASK_JOB`, and schedules it: timers only enqueue keyed jobs; the queue runs each once
 * however many instances tick. Intervals come from configuration, so they are registered here
 * rather than with decorators.
 */
@Injectable()
export class RunTaskJob implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('ScheduledTasks');

  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly jobs: JobQueue,
    private readonly tasks: TaskRunner,
    private readonly scheduler: SchedulerRegistry,
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
    // Right after start-up, not a full interval later.
    void this.enqueue('subscribe-calendars');
  }

  private every(task: TaskName, seconds: number): void {
    const timer = setInterval(() => void this.enqueue(task), seconds * 1000);
    timer.unref();
    this.scheduler.addInterval(`task:${task}`, timer);
  }

  private async enqueue(task: TaskName): Promise<void> {
    try {
      await this.jobs.enqueueJob(RUN_TASK_JOB, { task }, runTaskJobOptions(task, 'preserve_run_at'));
    } catch (error) {
      this.logger.warn(`Could not schedule ${task}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
