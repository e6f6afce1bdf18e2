import { createCipheriv, randomBytes } from 'node:crypto';
import { SealedValueUnreadableError, TokenCipher } from './token-cipher.js';

/** What the service wrote before key rings: `v1.<iv>.<tag>.<body>`, one key, no additional data. */
function legacySeal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

describe('TokenCipher', () => {
  const key = randomBytes(32);
  const cipher = new TokenCipher(key);

  it('round-trips and never stores the plaintext', () => {
    const sealed = cipher.sealJson({ refreshToken: 'secret-refresh' }, 'credential:1');
    expect(sealed).not.toContain('secret-refresh');
    expect(cipher.openJson(sealed, 'credential:1')).toEqual({ refreshToken: 'secret-refresh' });
  });

  it('uses a fresh nonce for every message', () => {
    expect(cipher.seal('same', 'credential:1')).not.toEqual(cipher.seal('same', 'credential:1'));
  });

  it('rejects a tampered message and a different key', () => {
    const sealed = cipher.seal('value', 'credential:1');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[4], 'base64url');
    body[0] ^= 1;
    parts[4] = body.toString('base64url');
    expect(() => cipher.open(parts.join('.'), 'credential:1')).toThrow(SealedValueUnreadableError);
    expect(() => new TokenCipher(randomBytes(32)).open(sealed, 'credential:1')).toThrow(SealedValueUnreadableError);
  });

  it('binds a value to its row: copied to another row it does not open', () => {
    const sealed = cipher.seal('token of credential 1', 'credential:1');
    expect(() => cipher.open(sealed, 'credential:2')).toThrow(/another row/);
    expect(() => cipher.open(sealed, 'webhook-endpoint:1')).toThrow(SealedValueUnreadableError);
  });

  describe('key ring', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = new TokenCipher([oldKey]);
    const ring = new TokenCipher([newKey, oldKey]);

    it('seals with the first key and opens with every key', () => {
      const old = before.seal('old secret', 'credential:7');
      expect(ring.open(old, 'credential:7')).toBe('old secret');
      const fresh = ring.seal('new secret', 'credential:7');
      expect(new TokenCipher([newKey]).open(fresh, 'credential:7')).toBe('new secret');
      expect(() => before.open(fresh, 'credential:7')).toThrow(/not in ENCRYPTION_KEY/);
    });

    it('tells which values need re-sealing and re-seals them under the first key', () => {
      const old = before.seal('old secret', 'credential:7');
      expect(ring.needsReseal(old)).toBe(true);
      const resealed = ring.reseal(old, 'credential:7');
      expect(ring.needsReseal(resealed)).toBe(false);
      expect(new TokenCipher([newKey]).open(resealed, 'credential:7')).toBe('old secret');
    });
  });

  describe('the former format (v1, no additional data)', () => {
    it('still opens, under any key of the ring, and is re-sealed bound to its row', () => {
      const legacy = legacySeal(key, '{"refreshToken":"r"}');
      const ring = new TokenCipher([randomBytes(32), key]);
      expect(ring.openJson(legacy, 'credential:3')).toEqual({ refreshToken: 'r' });
      expect(ring.needsReseal(legacy)).toBe(true);
      const resealed = ring.reseal(legacy, 'credential:3');
      expect(resealed.startsWith('v2.')).toBe(true);
      expect(() => ring.open(resealed, 'credential:4')).toThrow(SealedValueUnreadableError);
    });

    it('does not open under a key list without its key', () => {
      expect(() => new TokenCipher([randomBytes(32)]).open(legacySeal(key, 'x'), 'credential:1')).toThrow(/no key/);
    });
  });

  it('says which key sealed a value, and how values of a key (or of the older format) begin', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const ring = new TokenCipher([a, b]);
    const sealed = ring.seal('x', 'credential:1');
    expect(TokenCipher.keyIdOf(sealed)).toBe(ring.keyIds[0]);
    expect(sealed.startsWith(TokenCipher.prefixOf(ring.keyIds[0]))).toBe(true);
    expect(sealed.startsWith(TokenCipher.prefixOf(ring.keyIds[1]))).toBe(false);
    const legacy = legacySeal(b, 'x');
    expect(TokenCipher.keyIdOf(legacy)).toBeNull();
    expect(legacy.startsWith(TokenCipher.prefixOf(null))).toBe(true);
    expect(TokenCipher.keyIdOf('garbage')).toBeNull();
  });

  it('refuses garbage with a clear error', () => {
    expect(() => cipher.open('not sealed', 'credential:1')).toThrow(/unrecognised format/);
  });
});
