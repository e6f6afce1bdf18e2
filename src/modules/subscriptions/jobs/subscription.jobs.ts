import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { STOP_CHANNEL_JOB, type StopChannelPayload } from '../../connections/connections.service.js';
import { ChannelManager } from '../channel-manager.js';
import { type TaskName, TaskRunner } from '../task-runner.js';

export const RUN_TASK_JOB = 'run-task';

/**
 * Timers only enqueue keyed jobs; the queue runs each once however many instances tick.
 * Intervals come from configuration, so they are registered here rather than with decorators.
 */
@Injectable()
export class SubscriptionJobs implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('ScheduledTasks');

  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly jobs: JobQueue,
    private readonly tasks: TaskRunner,
    private readonly channels: ChannelManager,
    private readonly scheduler: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.register(RUN_TASK_JOB, async (payload) => {
      const report = await this.tasks.run((payload as { task: TaskName }).task);
      this.logger.debug(`${report.task}: ${JSON.stringify(report.result)}`);
    });
    this.registry.register(STOP_CHANNEL_JOB, async (payload) => {
      const p = payload as StopChannelPayload;
      const channel = { ...p.channel, expiration: new Date(p.channel.expiration ?? 0) };
      await this.channels.stopQuietly(p.provider, p.credentialId, channel, p.sealedKey);
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
      await this.jobs.enqueue(RUN_TASK_JOB, { task }, { jobKey: `task:${task}`, jobKeyMode: 'preserve_run_at', maxAttempts: 3 });
    } catch (error) {
      this.logger.warn(`Could not schedule ${task}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
