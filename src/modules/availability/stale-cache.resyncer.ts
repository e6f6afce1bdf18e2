import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from '../sync/sync.jobs.js';

/**
 * Queues a sync of a calendar whose cache a busy request could not trust, without making the
 * request wait for it: the answer is already live, the resync only helps the next one.
 */
@Injectable()
export class StaleCacheResyncer implements BeforeApplicationShutdown {
  private readonly logger = new Logger('StaleCacheResync');
  /**
   * Enqueues in flight, by calendar. Requests meanwhile share one: the job key would collapse
   * their jobs into the same one anyway, so a burst of requests costs one insert, not one each.
   */
  private readonly inflight = new Map<number, Promise<void>>();

  constructor(private readonly jobs: JobQueue) {}

  /** Fire and forget: never throws, a failure is logged (the safety-net resync heals it too). */
  request(selectedCalendarId: number): void {
    if (this.inflight.has(selectedCalendarId)) return;
    const enqueue = this.jobs
      .enqueueJob(SYNC_CALENDAR_JOB, { selectedCalendarId, reason: 'stale cache' }, syncJobOptions(selectedCalendarId))
      .then(
        () => undefined,
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          this.logger.warn(`Calendar ${selectedCalendarId}: could not queue a resync of its stale cache: ${message}`);
        },
      )
      .finally(() => this.inflight.delete(selectedCalendarId));
    this.inflight.set(selectedCalendarId, enqueue);
  }

  /** Enqueues still in flight finish while the database is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.inflight.values());
  }
}
