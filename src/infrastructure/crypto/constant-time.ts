import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares secrets without leaking their length or the position of the first difference. */
export function constantTimeEquals(given: string | undefined | null, expected: string): boolean {
  if (typeof given !== 'string' || expected.length === 0) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
