import { Injectable } from '@nestjs/common';
import type { JobDefinition } from './job-definition.js';

export interface JobContext {
  attempts: number;
  maxAttempts: number;
  jobId: string;
}

export type JobHandlerFn = (payload: unknown, context: JobContext) => Promise<void>;

/** Modules register their job handlers here in `onModuleInit`; the worker starts after that. */
@Injectable()
export class JobHandlerRegistry {
  private readonly handlers = new Map<string, JobHandlerFn>();

  register(task: string, handler: JobHandlerFn): void {
    if (this.handlers.has(task)) throw new Error(`Job handler for "${task}" registered twice`);
    this.handlers.set(task, handler);
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
