export const SYNC_CALENDAR_JOB = 'sync-calendar';

export interface SyncCalendarPayload {
  selectedCalendarId: number;
  /** Throw the cursor away and reconcile the cache against a full listing. */
  full?: boolean;
  reason?: string;
}

/**
 * One queue per calendar: its syncs never overlap, on any instance. `next` is the key of the one
 * sync the push intake may plan behind a waiting one during a storm (see NotificationIntake).
 */
export function syncJobOptions(selectedCalendarId: number, { full = false, next = false } = {}) {
  return {
    // A full resync keeps its own key, so a push arriving meanwhile cannot downgrade it.
    jobKey: `${full ? 'sync-full' : 'sync'}:${selectedCalendarId}${next ? ':next' : ''}`,
    jobKeyMode: 'preserve_run_at' as const,
    queueName: `calendar:${selectedCalendarId}`,
    maxAttempts: 12,
  };
}

/**
 * The stretch the cache covers (and a full sync lists): from today's UTC midnight, `days` ahead.
 * The sync and the busy-time reader must agree on it, so both take it from here. Epoch ms.
 */
export function cacheWindow(days: number, now = Date.now()): { start: number; end: number } {
  const start = new Date(now);
  start.setUTCHours(0, 0, 0, 0);
  return { start: start.getTime(), end: start.getTime() + days * 86_400_000 };
}
