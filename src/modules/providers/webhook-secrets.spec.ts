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
    expect(secrets.rotating).toBe(false);
  });

  it('accepts the previous secret too during a rotation', () => {
    const secrets = new WebhookSecrets('current', 'previous');
    expect([secrets.matches('current'), secrets.matches('previous'), secrets.matches('other')]).toEqual([true, true, false]);
    expect(secrets.rotating).toBe(true);
  });

  it('finds a channel stale when it carries another secret, and one of unknown secret only during a rotation', () => {
    const steady = new WebhookSecrets('current', null);
    const rotating = new WebhookSecrets('current', 'previous');
    const current = secretFingerprint('current');
    const previous = secretFingerprint('previous');
    expect([steady.isStale(current), steady.isStale(previous), steady.isStale(null)]).toEqual([false, true, false]);
    expect([rotating.isStale(current), rotating.isStale(previous), rotating.isStale(null)]).toEqual([false, true, true]);
  });
});
