import { WINDOWS_TO_IANA_MAP } from 'windows-iana';
import { GraphApiError } from './errors.js';

/**
 * Graph writes times as a wall-clock `dateTime` without offset plus a `timeZone` name (IANA or Windows).
 * Wall-clock instants are handled as "floating" milliseconds (the wall time read as if it were UTC), so day
 * and week arithmetic ignores DST; floatingToUtc/utcToFloating convert with the zone's offset at that time.
 */

export const DAY_MS = 86_400_000;

/**
 * Windows zone names (any case) mapped to the IANA zone whose rules they stand for (CLDR
 * `windowsZones`, territory 001, through `windows-iana`), so Intl can compute their offsets.
 */
const WINDOWS_ZONES = new Map<string, string>(
  WINDOWS_TO_IANA_MAP.filter((zone) => zone.territory === '001' && zone.iana[0]).map((zone) => [
    zone.windowsName.toLowerCase(),
    zone.iana[0] as string,
  ]),
);
WINDOWS_ZONES.set('coordinated universal time', 'UTC');

/**
 * Zone rules Exchange holds otherwise than ICU (a Windows name → the IANA zone whose rules it uses
 * instead), as when a country changed its offsets and Exchange's data lags: set through the
 * emulator's `exchangeZoneRules`, cleared by its `reset` and `stop`.
 */
export const exchangeZoneOverrides = new Map<string, string>();

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

/** The IANA zone for a Graph time zone name, or undefined when neither Intl nor the Windows table knows it. */
export function resolveTimeZone(name: string | undefined): string | undefined {
  if (name === undefined || name === '') return undefined;
  const windows = exchangeZoneOverrides.get(name.toLowerCase()) ?? WINDOWS_ZONES.get(name.toLowerCase());
  if (windows) return windows;
  try {
    formatterFor(name);
    return name;
  } catch {
    return undefined;
  }
}

/** Like resolveTimeZone, but answers Graph's 400 for a name it cannot use. */
export function requireTimeZone(name: string | undefined): string {
  const zone = resolveTimeZone(name ?? 'UTC');
  if (!zone) {
    throw new GraphApiError(
      400,
      'TimeZoneNotSupportedException',
      `A valid TimeZone value must be specified. The following TimeZone value is not supported: '${name ?? ''}'.`,
    );
  }
  return zone;
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

export function utcToFloating(utcMs: number, timeZone: string): number {
  return utcMs + zoneOffsetMs(timeZone, utcMs);
}

const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

export interface ParsedDateTime {
  floatingMs: number;
  /** Offset written in the text, when there was one. */
  offsetMs?: number;
}

export function parseDateTime(text: string): ParsedDateTime | undefined {
  const m = DATETIME_RE.exec(text);
  if (!m) return undefined;
  const frac = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const floatingMs = Date.UTC(+m[1], +m[2] - 1, +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0, frac);
  if (Number.isNaN(floatingMs)) return undefined;
  const zone = m[8];
  if (!zone) return { floatingMs };
  if (zone === 'Z' || zone === 'z') return { floatingMs, offsetMs: 0 };
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return { floatingMs, offsetMs: sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000 };
}

/**
 * An absolute instant from a `dateTimeTimeZone`: an offset in the text wins, else the text is wall-clock time
 * in `timeZone`. Returns the floating time in that zone too (recurrence works on it).
 */
export function resolveDateTime(
  value: { dateTime?: unknown; timeZone?: unknown } | undefined,
  field: string,
): { ms: number; floatingMs: number; zone: string; zoneName: string } {
  if (!value || typeof value !== 'object' || typeof value.dateTime !== 'string') {
    throw new GraphApiError(400, 'ErrorInvalidRequest', `The ${field} property is required and must have a dateTime.`);
  }
  const zoneName = typeof value.timeZone === 'string' && value.timeZone ? value.timeZone : 'UTC';
  const zone = requireTimeZone(zoneName);
  const dt = parseDateTime(value.dateTime);
  if (!dt) throw new GraphApiError(400, 'ErrorInvalidRequest', `Cannot convert the literal '${value.dateTime}' to a dateTime.`);
  if (dt.offsetMs !== undefined) {
    const ms = dt.floatingMs - dt.offsetMs;
    return { ms, floatingMs: utcToFloating(ms, zone), zone, zoneName };
  }
  return { ms: floatingToUtc(dt.floatingMs, zone), floatingMs: dt.floatingMs, zone, zoneName };
}

/**
 * startDateTime/endDateTime/getSchedule bounds: an offset in the text wins; without one the time is read in
 * the Prefer outlook.timezone zone, else UTC (as Graph does).
 */
export function parseBoundary(text: string | undefined, name: string, zone = 'UTC'): number {
  const dt = text === undefined ? undefined : parseDateTime(text);
  if (!dt) {
    throw new GraphApiError(
      400,
      'ErrorInvalidParameter',
      text === undefined
        ? `This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.`
        : `The value '${text}' of parameter '${name}' is invalid.`,
    );
  }
  return dt.offsetMs !== undefined ? dt.floatingMs - dt.offsetMs : floatingToUtc(dt.floatingMs, zone);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Graph's wall-clock format: seven fractional digits, no offset. */
export function formatFloating(floatingMs: number): string {
  const d = new Date(floatingMs);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}0000`
  );
}

/** createdDateTime/lastModifiedDateTime: UTC with seven fractional digits and Z. */
export function formatUtcStamp(ms: number): string {
  return `${formatFloating(ms)}Z`;
}

/** Midnight (floating) of the day a floating instant falls on. */
export function floorDay(floatingMs: number): number {
  return Math.floor(floatingMs / DAY_MS) * DAY_MS;
}

/** YYYY-MM-DD of a floating instant. */
export function formatDate(floatingMs: number): string {
  return new Date(floatingMs).toISOString().slice(0, 10);
}

export function parseDate(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3]);
  return Number.isNaN(ms) ? undefined : ms;
}
