/** What a sync run must know about its calendar to decide between a full and an incremental listing. */
export interface SyncPlanInput {
  /** Someone asked for a full resync (admin, a reconcile). */
  requestedFull: boolean;
  cursor: string | null;
  /** See CalendarProvider.cursorScope. */
  cursorScope: 'calendar' | 'window';
  /** End of the window the cursor was made for. */
  cursorWindowEnd: Date | null;
  /** Whether this run writes the cache, and whether the last one did. */
  writeCache: boolean;
  cacheEnabled: boolean;
  /** The cache holds every busy event up to here. */
  cacheCoveredUntil: Date | null;
  /** This run's window. */
  windowEnd: Date;
}

export type SyncPlanReason =
  'requested' | 'no cursor' | 'cache turned on' | 'cache coverage lapsed' | 'cursor window slid' | 'incremental';

/** How far the window may slide past a full listing before one is redone: a day. */
export const REANCHOR_AFTER_MS = 86_400_000;

/**
 * Full or incremental. A full listing (which reconciles) is needed when asked for, without a
 * cursor, when the cache is turned on (it must be filled), and when the window slid a day past
 * what the last full listing covered: an old event entering the window is no "change" to an
 * incremental sync, and a window-bound cursor (Graph) does not even see it.
 */
export function planSync(input: SyncPlanInput): { full: boolean; reason: SyncPlanReason } {
  const slid = (coveredUntil: Date | null) =>
    !coveredUntil || coveredUntil.getTime() < input.windowEnd.getTime() - REANCHOR_AFTER_MS;
  if (input.requestedFull) return { full: true, reason: 'requested' };
  if (!input.cursor) return { full: true, reason: 'no cursor' };
  if (input.writeCache && !input.cacheEnabled) return { full: true, reason: 'cache turned on' };
  if (input.writeCache && slid(input.cacheCoveredUntil)) return { full: true, reason: 'cache coverage lapsed' };
  if (input.cursorScope === 'window' && slid(input.cursorWindowEnd)) return { full: true, reason: 'cursor window slid' };
  return { full: false, reason: 'incremental' };
}
