import { badRequest } from './errors.js';
import type { EventTime } from './types.js';

export const DAY_MS = 86_400_000;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** "Wall clock" instants are kept as if they were UTC so day/week arithmetic ignores DST; see floatingToUtc. */
export interface ParsedDateTime {
  floatingMs: number;
  /** Offset written in the text, when there was one. */
  offsetMs?: number;
}

export function parseDate(text: string): number | undefined {
  const m = DATE_RE.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3]);
  return Number.isNaN(ms) ? undefined : ms;
}

export function parseDateTime(text: string): ParsedDateTime | undefined {
  const m = DATETIME_RE.exec(text);
  if (!m) return undefined;
  const frac = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const floatingMs = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0, frac);
  if (Number.isNaN(floatingMs)) return undefined;
  const zone = m[8];
  if (!zone) return { floatingMs };
  if (zone === 'Z' || zone === 'z') return { floatingMs, offsetMs: 0 };
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offsetMs = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  return { floatingMs, offsetMs };
}

/** timeMin/timeMax/updatedMin: RFC 3339 with a mandatory offset, as Google insists (400 otherwise). */
export function parseInstant(text: string, name: string): number {
  const dt = parseDateTime(text);
  if (dt?.offsetMs === undefined) throw badRequest(`Bad Request: ${name} must be an RFC 3339 timestamp with a time zone offset.`);
  return dt.floatingMs - dt.offsetMs;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function zoneOffsetMs(timeZone: string, utcMs: number): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC' || timeZone === 'GMT') return 0;
  const parts = formatterFor(timeZone).formatToParts(new Date(utcMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** Two passes so that instants near a DST switch land on the offset in force at the result. */
export function floatingToUtc(floatingMs: number, timeZone: string): number {
  const guess = floatingMs - zoneOffsetMs(timeZone, floatingMs);
  return floatingMs - zoneOffsetMs(timeZone, guess);
}

/**
 * Absolute start/end of an event time. A dateTime without an offset is read in its timeZone, else the
 * calendar's (Google would answer 400 there; being lenient costs nothing). All-day dates are UTC midnight.
 */
export function resolveEventTime(t: EventTime, calendarZone: string, field: string): { ms: number; allDay: boolean } {
  if (t.dateTime) {
    const dt = parseDateTime(t.dateTime);
    if (!dt) throw badRequest(`Invalid ${field} time.`);
    if (dt.offsetMs !== undefined) return { ms: dt.floatingMs - dt.offsetMs, allDay: false };
    const zone = t.timeZone ?? calendarZone;
    if (!isValidTimeZone(zone)) throw badRequest(`Invalid time zone definition for ${field} time.`);
    return { ms: floatingToUtc(dt.floatingMs, zone), allDay: false };
  }
  if (t.date) {
    const ms = parseDate(t.date);
    if (ms === undefined) throw badRequest(`Invalid ${field} time.`);
    return { ms, allDay: true };
  }
  throw badRequest(`Missing ${field} time.`, 'required');
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** RFC 3339 local time with a numeric offset, or Z for UTC, as Google writes event times. */
export function formatWithOffset(utcMs: number, offsetMs: number): string {
  const local = new Date(utcMs + offsetMs).toISOString().slice(0, 19);
  if (offsetMs === 0) return `${local}Z`;
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.abs(offsetMs) / 60_000;
  return `${local}${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

export function formatDate(floatingMs: number): string {
  return new Date(floatingMs).toISOString().slice(0, 10);
}

/** freeBusy writes whole seconds without milliseconds. */
export function formatInstant(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
}

/** Instance id suffix: UTC basic format for timed series, the date for all-day ones (as Google does). */
export function instanceStamp(ms: number, allDay: boolean): string {
  const iso = new Date(ms).toISOString();
  const date = iso.slice(0, 10).replace(/-/g, '');
  return allDay ? date : `${date}T${iso.slice(11, 19).replace(/:/g, '')}Z`;
}
