import { randomBytes } from 'node:crypto';
import { TokenCipher } from './token-cipher.js';

describe('TokenCipher', () => {
  const cipher = new TokenCipher(randomBytes(32));

  it('round-trips and never stores the plaintext', () => {
    const sealed = cipher.sealJson({ refreshToken: 'secret-refresh' });
    expect(sealed).not.toContain('secret-refresh');
    expect(cipher.openJson(sealed)).toEqual({ refreshToken: 'secret-refresh' });
  });

  it('uses a fresh nonce for every message', () => {
    expect(cipher.seal('same')).not.toEqual(cipher.seal('same'));
  });

  it('rejects a tampered message and a different key', () => {
    const sealed = cipher.seal('value');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3], 'base64url');
    body[0] ^= 1;
    parts[3] = body.toString('base64url');
    expect(() => cipher.open(parts.join('.'))).toThrow();
    expect(() => new TokenCipher(randomBytes(32)).open(sealed)).toThrow();
  });
});
