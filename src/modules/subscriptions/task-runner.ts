import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { UnknownTaskError } from './subscriptions.errors.js';
import { TASK_NAMES, type TaskName } from './subscriptions.jobs.js';
import { CleanupCacheTask } from './tasks/cleanup-cache.task.js';
import { ResealCredentialsTask } from './tasks/reseal-credentials.task.js';
import { ResyncCalendarsTask } from './tasks/resync-calendars.task.js';
import { SubscribeCalendarsTask } from './tasks/subscribe-calendars.task.js';

export interface TaskReport {
  task: TaskName;
  startedAt: string;
  finishedAt: string;
  result: object;
}

const LOCK_BASE = 7_310_000_100;

/**
 * Runs a scheduled task to completion under a cluster-wide advisory lock: two instances (or a
 * timer and an admin) asking at once run it one after the other, never side by side.
 */
@Injectable()
export class TaskRunner {
  constructor(
    private readonly dataSource: DataSource,
    private readonly subscribe: SubscribeCalendarsTask,
    private readonly resync: ResyncCalendarsTask,
    private readonly cleanup: CleanupCacheTask,
    private readonly reseal: ResealCredentialsTask,
  ) {}

  static parse(name: string): TaskName {
    if (!(TASK_NAMES as readonly string[]).includes(name)) {
      throw new UnknownTaskError(name, TASK_NAMES);
    }
    return name as TaskName;
  }

  async run(task: TaskName): Promise<TaskReport> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    const key = LOCK_BASE + TASK_NAMES.indexOf(task);
    try {
      await runner.query('SELECT pg_advisory_lock($1)', [key]);
      const startedAt = new Date().toISOString();
      const result = await this.execute(task);
      return { task, startedAt, finishedAt: new Date().toISOString(), result };
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
      await runner.release();
    }
  }

  private execute(task: TaskName): Promise<object> {
    switch (task) {
      case 'subscribe-calendars':
        return this.subscribe.run();
      case 'resync-calendars':
        return this.resync.run();
      case 'cleanup-cache':
        return this.cleanup.run();
      case 'reseal-credentials':
        return this.reseal.run();
    }
  }
}
