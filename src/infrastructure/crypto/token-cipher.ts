import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Sealed without additional data under a single key (before key rings): opened, never written. */
const LEGACY_VERSION = 'v1';
/** `v2.<key id>.<nonce>.<tag>.<body>`: bound to its row through AES-GCM additional data. */
const VERSION = 'v2';

/** A value no key of the ring opens (wrong keys, another row's value, or tampering). */
export class SealedValueUnreadableError extends Error {
  constructor(reason: string) {
    super(`Sealed value cannot be opened: ${reason}`);
    this.name = 'SealedValueUnreadableError';
  }
}

/**
 * A short, public fingerprint of a key (a domain-separated SHA-256 prefix, not the key): which
 * key of the ring sealed a value, so opening needs one attempt and re-sealing knows what to skip.
 */
function keyId(key: Buffer): string {
  return createHash('sha256').update('calsync-encryption-key-id\0').update(key).digest().subarray(0, 6).toString('base64url');
}

/**
 * AES-256-GCM over a key ring (`ENCRYPTION_KEY=new,old,…`): the first key seals, every key opens.
 * Each value is sealed with a fresh 96-bit nonce and with the caller's `context` (e.g.
 * `credential:42`) as additional authenticated data, so a ciphertext copied to another row does not
 * open there. Values of the older format (`v1`, no additional data) still open, under any key of the
 * ring, until re-sealed (`POST /api/v1/admin/tasks/reseal-credentials/run`).
 */
export class TokenCipher {
  private readonly keys: Array<{ id: string; key: Buffer }>;

  constructor(keys: Buffer | readonly Buffer[]) {
    const list = Buffer.isBuffer(keys) ? [keys] : [...keys];
    if (list.length === 0) throw new Error('TokenCipher needs at least one key');
    for (const key of list) if (key.length !== 32) throw new Error('TokenCipher needs 32-byte keys');
    this.keys = list.map((key) => ({ id: keyId(key), key }));
  }

  /** The ring's key fingerprints, first (sealing) key first: what `v2` values name after their version. */
  get keyIds(): string[] {
    return this.keys.map((k) => k.id);
  }

  /** The id of the key a value was sealed with; null for the older format, which names none. */
  static keyIdOf(sealed: string): string | null {
    const parts = sealed.split('.');
    return parts[0] === VERSION && parts.length === 5 ? parts[1] : null;
  }

  /** How every value sealed with key `keyId` begins; with null, how every value of the older format begins. */
  static prefixOf(keyId: string | null): string {
    return keyId === null ? `${LEGACY_VERSION}.` : `${VERSION}.${keyId}.`;
  }

  seal(plaintext: string, context: string): string {
    const { id, key } = this.keys[0];
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, id, iv.toString('base64url'), tag.toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts[0] === VERSION && parts.length === 5) {
      const [, id, iv, tag, body] = parts;
      const entry = this.keys.find((k) => k.id === id);
      if (!entry) throw new SealedValueUnreadableError('sealed with a key that is not in ENCRYPTION_KEY');
      const value = decrypt(entry.key, iv, tag, body, context);
      if (value === null) throw new SealedValueUnreadableError('authentication failed (tampered, or sealed for another row)');
      return value;
    }
    if (parts[0] === LEGACY_VERSION && parts.length === 4) {
      const [, iv, tag, body] = parts;
      for (const { key } of this.keys) {
        const value = decrypt(key, iv, tag, body, null);
        if (value !== null) return value;
      }
      throw new SealedValueUnreadableError('no key of ENCRYPTION_KEY opens it');
    }
    throw new SealedValueUnreadableError('unrecognised format');
  }

  /** True when the value is not in the current format under the first key (the re-seal task's test). */
  needsReseal(sealed: string): boolean {
    const parts = sealed.split('.');
    return !(parts[0] === VERSION && parts.length === 5 && parts[1] === this.keys[0].id);
  }

  /** Opens with any key and seals again with the first, bound to `context`. Throws `SealedValueUnreadableError`. */
  reseal(sealed: string, context: string): string {
    return this.seal(this.open(sealed, context), context);
  }

  sealJson(value: unknown, context: string): string {
    return this.seal(JSON.stringify(value), context);
  }

  openJson<T>(sealed: string, context: string): T {
    return JSON.parse(this.open(sealed, context)) as T;
  }
}

function decrypt(key: Buffer, iv: string, tag: string, body: string, context: string | null): string | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    if (context !== null) decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
