import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** Compares secrets without leaking their length or the position of the first difference. */
export function constantTimeEquals(given: string | undefined | null, expected: string): boolean {
  if (typeof given !== 'string' || expected.length === 0) return false;
  return timingSafeEqual(sha256(given), sha256(expected));
}

/**
 * The same comparison against one fixed secret, hashed once: for checks on a hot path (every
 * webhook push, every API request).
 */
export class SecretMatcher {
  private readonly digest: Buffer | null;

  constructor(secret: string) {
    this.digest = secret.length > 0 ? sha256(secret) : null;
  }

  matches(given: string | undefined | null): boolean {
    if (typeof given !== 'string' || !this.digest) return false;
    return timingSafeEqual(sha256(given), this.digest);
  }
}
