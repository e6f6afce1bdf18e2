import type { EnqueueOptions } from './job-queue.js';

/**
 * A durable job's name, payload type and default options, declared once by the module that runs
 * the job (e.g. `SYNC_CALENDAR_JOB` in `src/modules/sync/sync.jobs.ts`). Enqueue it with
 * `JobQueue.enqueueJob(def, payload)` and handle it with `JobHandlerRegistry.handle(def, fn)`:
 * the compiler then checks both sides against the same payload type, so no caller or handler
 * casts a payload.
 */
export interface JobDefinition<P extends object> {
  /** graphile-worker's task identifier. */
  readonly name: string;
  /** Defaults for every enqueue of this job; options given at the enqueue win. */
  readonly options: Readonly<EnqueueOptions>;
  /** Never set: only carries `P`, so a definition of one payload cannot stand for another. */
  readonly payloadType?: P;
}

export function defineJob<P extends object>(name: string, options: Partial<EnqueueOptions> = {}): JobDefinition<P> {
  return Object.freeze({ name, options: Object.freeze({ ...options }) });
}
