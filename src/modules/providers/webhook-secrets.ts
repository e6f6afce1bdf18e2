import { createHash } from 'node:crypto';
import { SecretMatcher } from '../../infrastructure/crypto/constant-time.js';

/**
 * A short, one-way name for a webhook secret (the first 16 hex digits of its SHA-256), stored
 * with each channel so a rotation can tell which channels still carry the old secret. It names
 * the secret without revealing it: the configured secrets are random tokens (`openssl rand -hex
 * 24` in the README), far beyond guessing from 64 bits of a hash.
 */
export function secretFingerprint(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16);
}

/**
 * The secret every new channel of a provider carries (`GOOGLE_WEBHOOK_TOKEN`,
 * `MICROSOFT_WEBHOOK_TOKEN`) and, during a rotation, the one it replaces (`…_PREVIOUS`), which
 * notifications may still carry until their channels are replaced. Both compared in constant time.
 */
export class WebhookSecrets {
  /** The fingerprint of the secret new channels are opened with. */
  readonly fingerprint: string;
  /**
   * The fingerprint of the secret a rotation retires (`…_PREVIOUS`), or null when no rotation is
   * under way. With `fingerprint`, all `isStale` decides on (the scrape gauge decides it in SQL).
   */
  readonly retiredFingerprint: string | null;
  private readonly current: SecretMatcher;
  private readonly previous: SecretMatcher | null;

  constructor(current: string, previous: string | null) {
    this.current = new SecretMatcher(current);
    this.previous = previous ? new SecretMatcher(previous) : null;
    this.fingerprint = secretFingerprint(current);
    this.retiredFingerprint = previous ? secretFingerprint(previous) : null;
  }

  /** Whether `given` is the current secret or, during a rotation, the previous one. */
  matches(given: string | null | undefined): boolean {
    // Both comparisons always run: how long the check takes does not tell which one matched.
    const current = this.current.matches(given);
    const previous = this.previous ? this.previous.matches(given) : false;
    return current || previous;
  }

  /**
   * Whether a channel whose secret has this fingerprint must be replaced by one with the current
   * secret: only during a rotation, and only a channel carrying the secret it retires. A channel
   * stored before fingerprints were kept (null) may carry that one too: replacing it once is the
   * only way to be sure before the previous secret goes. A channel with any other secret is left
   * alone: it may be the newer one of a replica not restarted yet (or already restarted with a
   * later rotation), and replacing it would start the replicas replacing each other's channels.
   */
  isStale(channelFingerprint: string | null): boolean {
    if (this.retiredFingerprint === null) return false;
    return channelFingerprint === null || channelFingerprint === this.retiredFingerprint;
  }
}
