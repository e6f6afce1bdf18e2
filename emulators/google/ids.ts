import { randomBytes, randomFillSync } from 'node:crypto';

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';
const EVENT_ID = /^[a-v0-9]{5,1024}$/;

// One syscall per few hundred ids instead of one per id: seeding 10,000 events spent most of its time here.
const pool = Buffer.alloc(8192);
let poolPos = pool.length;

/** Event ids must be base32hex, like Google's, so ids from the emulator pass the service's own validation. */
export function newEventId(length = 26): string {
  if (poolPos + length > pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  let out = '';
  for (let i = 0; i < length; i++) out += BASE32HEX[pool[poolPos++] & 31];
  return out;
}

export function isValidEventId(id: string): boolean {
  return EVENT_ID.test(id);
}

export function opaqueToken(prefix: string, bytes = 24): string {
  return prefix + randomBytes(bytes).toString('base64url');
}
