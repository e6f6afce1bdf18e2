/**
 * The stretch the cache covers (and a full sync lists): from today's UTC midnight, `days` ahead.
 * The sync and the busy-time reader must agree on it, so both take it from here. Epoch ms.
 */
export function cacheWindow(days: number, now = Date.now()): { start: number; end: number } {
  const start = new Date(now);
  start.setUTCHours(0, 0, 0, 0);
  return { start: start.getTime(), end: start.getTime() + days * 86_400_000 };
}
