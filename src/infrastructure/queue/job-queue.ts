import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface EnqueueOptions {
  /** Jobs with the same key collapse into one while waiting (graphile-worker `job_key`). */
  jobKey?: string;
  /** 'preserve_run_at' (default): a duplicate keeps the earlier run time, so pushes coalesce without delaying. */
  jobKeyMode?: 'replace' | 'preserve_run_at';
  /** Jobs of one queue run one at a time, across every instance. */
  queueName?: string;
  runAt?: Date;
  maxAttempts?: number;
  priority?: number;
}

/**
 * Adds durable jobs. Through `manager` the job is added inside the caller's transaction, so it
 * exists exactly when the data it is about was committed.
 */
@Injectable()
export class JobQueue {
  constructor(private readonly dataSource: DataSource) {}

  async enqueue(task: string, payload: object, options: EnqueueOptions = {}, manager?: EntityManager): Promise<void> {
    const runner = manager ?? this.dataSource.manager;
    await runner.query(
      `SELECT graphile_worker.add_job(
         identifier => $1::text, payload => $2::json, queue_name => $3::text, run_at => $4::timestamptz,
         max_attempts => $5::int, job_key => $6::text, priority => $7::int, job_key_mode => $8::text)`,
      [
        task,
        JSON.stringify(payload),
        options.queueName ?? null,
        options.runAt ?? null,
        options.maxAttempts ?? 25,
        options.jobKey ?? null,
        options.priority ?? 0,
        options.jobKey ? (options.jobKeyMode ?? 'preserve_run_at') : null,
      ],
    );
  }

  /** Jobs not yet finished for a task (waiting, running or retrying). */
  async pendingCount(task?: string): Promise<number> {
    const rows: Array<{ count: string }> = await this.dataSource.query(
      `SELECT count(*)::text AS count FROM graphile_worker.jobs WHERE ($1::text IS NULL OR task_identifier = $1)`,
      [task ?? null],
    );
    return Number(rows[0]?.count ?? 0);
  }
}
