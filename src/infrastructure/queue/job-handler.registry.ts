import type { LogFields } from '../logging/logging.js';
import { Injectable } from '@nestjs/common';
import type { JobDefinition } from './job-definition.js';

export interface JobContext {
  attempts: number;
  maxAttempts: number;
  jobId: string;
  /**
   * Fires when the job should stop: it ran longer than `JOB_TIMEOUT_MS` (the attempt has then
   * failed and is retried with backoff), or the worker is shutting down. A handler doing work in
   * steps checks it between steps (`signal.throwIfAborted()`), so an abandoned attempt stops
   * writing at the next step boundary instead of running on beside its retry.
   */
  signal: AbortSignal;
  /** `jobId` and `task`, for the lines the job logs (`logLine(message, context.logFields)`). */
  logFields: LogFields;
}

export type JobHandlerFn = (payload: unknown, context: JobContext) => Promise<void>;

/** Modules register their job handlers here in `onModuleInit`; the worker starts after that. */
@Injectable()
export class JobHandlerRegistry {
  private readonly handlers = new Map<string, JobHandlerFn>();
  /** task → lane; tasks not listed run in the default lane. */
  private readonly taskLanes = new Map<string, string>();
  private readonly laneConcurrency = new Map<string, number>();

  register(task: string, handler: JobHandlerFn): void {
    if (this.handlers.has(task)) throw new Error(`Job handler for "${task}" registered twice`);
    this.handlers.set(task, handler);
  }

  /**
   * Gives `task`'s lane `concurrency` slots on top of `WORKER_CONCURRENCY`, and the lane's jobs no
   * more than those, so jobs that wait on the outside world (an outgoing webhook may take 10 s to
   * time out) never take the slots of the sync and calendar writes, however many of them wait
   * (other jobs may use a lane's idle slots). The worker adds the slots to its one
   * runner (see JobWorker for why not a second runner) and takes no job of a full lane; the task's
   * jobs must carry the lane's flag (`EnqueueOptions.lane` in the job's definition).
   */
  useLane(task: string, lane: string, concurrency: number): void {
    this.taskLanes.set(task, lane);
    this.laneConcurrency.set(lane, Math.max(concurrency, this.laneConcurrency.get(lane) ?? 0));
  }

  /** The extra lanes and their concurrency (the default lane is not listed). */
  lanes(): Array<[string, number]> {
    return [...this.laneConcurrency.entries()];
  }

  concurrencyOf(lane: string): number {
    return this.laneConcurrency.get(lane) ?? 0;
  }

  laneOf(task: string): string | null {
    return this.taskLanes.get(task) ?? null;
  }

  /**
   * Typed: `handler` receives the payload type of `job`. A stored payload was written by
   * `JobQueue.enqueueJob` with the same definition (or, until every caller has moved, by an
   * untyped `enqueue` of the same name), so this is the one place a payload meets its type.
   */
  handle<P extends object>(job: JobDefinition<P>, handler: (payload: P, context: JobContext) => Promise<void>): void {
    this.register(job.name, handler as JobHandlerFn);
  }

  entries(): Array<[string, JobHandlerFn]> {
    return [...this.handlers.entries()];
  }
}
