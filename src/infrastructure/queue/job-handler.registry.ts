import { Injectable } from '@nestjs/common';

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

  entries(): Array<[string, JobHandlerFn]> {
    return [...this.handlers.entries()];
  }
}
