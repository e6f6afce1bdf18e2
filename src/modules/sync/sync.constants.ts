export const SYNC_CALENDAR_JOB = 'sync-calendar';

export interface SyncCalendarPayload {
  selectedCalendarId: number;
  /** Throw the cursor away and reconcile the cache against a full listing. */
  full?: boolean;
  reason?: string;
}

/** One queue per calendar: its syncs never overlap, on any instance. */
export function syncJobOptions(selectedCalendarId: number, full = false) {
  return {
    // A full resync keeps its own key, so a push arriving meanwhile cannot downgrade it.
    jobKey: `${full ? 'sync-full' : 'sync'}:${selectedCalendarId}`,
    jobKeyMode: 'preserve_run_at' as const,
    queueName: `calendar:${selectedCalendarId}`,
    maxAttempts: 12,
  };
}
