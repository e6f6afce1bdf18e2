import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Identifiers shaped like Exchange's: opaque, long, URL-safe base64 that ends in '=' (so clients must not
 * assume an alphabet without '='), GUIDs for users/tenants/subscriptions, and Outlook's hex iCalUId.
 */

export function newEventId(): string {
  return `AAMkA${randomBytes(36).toString('base64url')}AAA=`;
}

export function newCalendarId(): string {
  return `AAMkA${randomBytes(30).toString('base64url')}AAAEGAAA=`;
}

export function newChangeKey(): string {
  return randomBytes(16).toString('base64');
}

export const newGuid = (): string => randomUUID();

export function opaqueToken(prefix: string, bytes = 32): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

/** Outlook's GlobalObjectId class id; bytes 16-19 carry an occurrence's date (zero on masters and singles). */
const GOID_CLASS = '040000008200E00074C5B7101A82E008';

export function newICalUId(createdMs: number): string {
  // FILETIME (100 ns since 1601) of creation, little-endian, as Outlook writes it.
  const fileTime = (BigInt(createdMs) + 11_644_473_600_000n) * 10_000n;
  const ft = Buffer.alloc(8);
  ft.writeBigUInt64LE(fileTime);
  const uid = randomBytes(16).toString('hex');
  return `${GOID_CLASS}00000000${ft.toString('hex')}000000000000000010000000${uid}`.toUpperCase();
}

/** The iCalUId of one occurrence: the series' with the occurrence date written in (as Outlook does). */
export function occurrenceICalUId(masterUid: string, year: number, month: number, day: number): string {
  if (!masterUid.startsWith(GOID_CLASS) || masterUid.length < 40) return `${masterUid}-${year}${pad(month)}${pad(day)}`;
  const date = year.toString(16).padStart(4, '0') + month.toString(16).padStart(2, '0') + day.toString(16).padStart(2, '0');
  return `${masterUid.slice(0, 32)}${date.toUpperCase()}${masterUid.slice(40)}`;
}

const OCCURRENCE_SUFFIX = /^(.+)_(\d{8}T\d{6}Z)$/;

/** Occurrence ids name their master and their original start (UTC), so any occurrence can be addressed. */
export function occurrenceId(masterId: string, originalStartMs: number): string {
  const iso = new Date(originalStartMs).toISOString();
  return `${masterId}_${iso.slice(0, 10).replace(/-/g, '')}T${iso.slice(11, 19).replace(/:/g, '')}Z`;
}

export function parseOccurrenceId(id: string): { masterId: string; originalStartMs: number } | undefined {
  const m = OCCURRENCE_SUFFIX.exec(id);
  if (!m) return undefined;
  const s = m[2];
  const ms = Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11), +s.slice(11, 13), +s.slice(13, 15));
  return Number.isNaN(ms) ? undefined : { masterId: m[1], originalStartMs: ms };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
