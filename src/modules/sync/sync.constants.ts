/**
 * Until their callers move to `JobQueue.enqueueJob` with `SYNC_CALENDAR_JOB` from `sync.jobs.ts`,
 * the sync job is re-exported here, where they import it from (`JobQueue.enqueue` takes the
 * definition as well as a name). Declared only in `sync.jobs.ts`.
 */
export { SYNC_CALENDAR_JOB, type SyncCalendarPayload, syncJobOptions } from './sync.jobs.js';

/**
 * The stretch the cache covers (and a full sync lists): from today's UTC midnight, `days` ahead.
 * The sync and the busy-time reader must agree on it, so both take it from here. Epoch ms.
 */
export function cacheWindow(days: number, now = Date.now()): { start: number; end: number } {
  const start = new Date(now);
  start.setUTCHours(0, 0, 0, 0);
  return { start: start.getTime(), end: start.getTime() + days * 86_400_000 };
}
