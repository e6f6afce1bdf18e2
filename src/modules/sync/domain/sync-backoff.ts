/** The first wait after a failed sync; it doubles with each failure in a row. */
export const SYNC_BACKOFF_BASE_MS = 5_000;
/** The longest wait: the safety-net resync interval's order of magnitude. */
export const SYNC_BACKOFF_MAX_MS = 15 * 60_000;

/**
 * Until when a calendar whose syncs keep failing is left alone, whatever asks for a sync (a push,
 * the safety net, a busy-times request): 5 s after the first failure, doubling, at most 15 min.
 * graphile-worker's own retry backoff is reset each time a job with the same key is added, so the
 * calendar's own failure count decides, or the provider's `Retry-After` (`notBefore`) when that is
 * later. null: not backing off (never failed, or the wait is over).
 */
export function syncBackoffUntil(
  failures: number,
  lastFailureAt: Date | null,
  now: number,
  notBefore: Date | null = null,
): number | null {
  if (failures <= 0 || !lastFailureAt) return null;
  const wait = Math.min(SYNC_BACKOFF_MAX_MS, SYNC_BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 20));
  // A provider's own Retry-After, when longer than the backoff, is what the calendar waits for.
  const until = Math.max(lastFailureAt.getTime() + wait, notBefore?.getTime() ?? 0);
  return until > now ? until : null;
}
