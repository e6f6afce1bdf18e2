import { defineJob } from '../../infrastructure/queue/job-definition.js';
import type { EnqueueOptions } from '../../infrastructure/queue/job-queue.js';

export interface SyncCalendarPayload {
  selectedCalendarId: number;
  /** Throw the cursor away and reconcile the cache against a full listing. */
  full?: boolean;
  /** Why the sync was asked for (logs and job listings only). */
  reason?: string;
}

/** "Sync calendar X": run by `SyncCalendarJob`, enqueued by anyone who needs a calendar caught up. */
export const SYNC_CALENDAR_JOB = defineJob<SyncCalendarPayload>('sync-calendar', {
  jobKeyMode: 'preserve_run_at',
  maxAttempts: 12,
});

/**
 * One queue per calendar: its syncs never overlap, on any instance. `next` is the key of the one
 * sync the push intake may plan behind a waiting one during a storm (see NotificationIntake).
 */
export function syncJobOptions(selectedCalendarId: number, { full = false, next = false } = {}): EnqueueOptions {
  return {
    ...SYNC_CALENDAR_JOB.options,
    // A full resync keeps its own key, so a push arriving meanwhile cannot downgrade it.
    jobKey: `${full ? 'sync-full' : 'sync'}:${selectedCalendarId}${next ? ':next' : ''}`,
    queueName: `calendar:${selectedCalendarId}`,
  };
}
