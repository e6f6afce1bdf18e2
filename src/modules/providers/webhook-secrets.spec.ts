import { WebhookSecrets, secretFingerprint } from './webhook-secrets.js';

describe('WebhookSecrets', () => {
  it('names a secret by a short fingerprint that is not the secret and differs between secrets', () => {
    const fingerprint = secretFingerprint('a-webhook-token');
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint).toBe(secretFingerprint('a-webhook-token'));
    expect(fingerprint).not.toBe(secretFingerprint('a-webhook-tokem'));
    expect(new WebhookSecrets('a-webhook-token', null).fingerprint).toBe(fingerprint);
  });

  it('accepts only the current secret when no rotation is under way', () => {
    const secrets = new WebhookSecrets('current', null);
    expect([secrets.matches('current'), secrets.matches('previous'), secrets.matches(null), secrets.matches('')]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(secrets.retiredFingerprint).toBeNull();
  });

  it('accepts the previous secret too during a rotation', () => {
    const secrets = new WebhookSecrets('current', 'previous');
    expect([secrets.matches('current'), secrets.matches('previous'), secrets.matches('other')]).toEqual([true, true, false]);
    expect(secrets.retiredFingerprint).toBe(secretFingerprint('previous'));
  });

  it('finds stale, during a rotation only, a channel carrying the retired secret or one not recorded', () => {
    const steady = new WebhookSecrets('current', null);
    const rotating = new WebhookSecrets('current', 'previous');
    const current = secretFingerprint('current');
    const previous = secretFingerprint('previous');
    expect([steady.isStale(current), steady.isStale(previous), steady.isStale(null)]).toEqual([false, false, false]);
    expect([rotating.isStale(current), rotating.isStale(previous), rotating.isStale(null)]).toEqual([false, true, true]);
  });

  it('never has replicas of two configurations replace each other’s channels during a rolling restart', () => {
    // One replica restarted with the new token (the old one as previous), one not restarted yet.
    const restarted = new WebhookSecrets('new', 'old');
    const notYet = new WebhookSecrets('old', null);
    // What each opens, the other leaves alone (or replaces it for good: the old one's channels).
    expect(notYet.isStale(restarted.fingerprint)).toBe(false);
    expect(restarted.isStale(notYet.fingerprint)).toBe(true);
    // Two rotations overlapping: the later one's channels are not taken back by the earlier one.
    const later = new WebhookSecrets('newer', 'new');
    expect(restarted.isStale(later.fingerprint)).toBe(false);
    expect(later.isStale(restarted.fingerprint)).toBe(true);
  });
});
