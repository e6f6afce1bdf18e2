import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** Compares secrets without leaking their length or the position of the first difference. */
export function constantTimeEquals(given: string | undefined | null, expected: string): boolean {
  if (typeof given !== 'string' || expected.length === 0) return false;
  return timingSafeEqual(sha256(given), sha256(expected));
}

/**
 * The same guarantee against one fixed secret, for checks on a hot path (every webhook push, every
 * API request), without hashing: the comparison always runs over the secret's own bytes, so its
 * time depends on neither the secret's length nor its content (only on the length of what the
 * caller sent, which the caller knows).
 */
export class SecretMatcher {
  private readonly secret: Buffer | null;

  constructor(secret: string) {
    this.secret = secret.length > 0 ? Buffer.from(secret, 'utf8') : null;
  }

  matches(given: string | undefined | null): boolean {
    if (typeof given !== 'string' || !this.secret) return false;
    const bytes = Buffer.from(given, 'utf8');
    const sameLength = bytes.length === this.secret.length;
    return timingSafeEqual(sameLength ? bytes : this.secret, this.secret) && sameLength;
  }
}
