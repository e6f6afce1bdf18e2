import { badRequest } from './errors.js';
import { DAY_MS, floatingToUtc, isValidTimeZone, parseDate, parseDateTime, zoneOffsetMs } from './time.js';
import type { EventTime } from './types.js';

/**
 * Just enough of RFC 5545 for tests: RRULE FREQ=DAILY|WEEKLY|MONTHLY|YEARLY with INTERVAL, COUNT, UNTIL,
 * BYDAY (plain weekdays, as a filter for DAILY and the day set for WEEKLY), and EXDATE. Occurrences are
 * generated in the series' wall-clock time so a 10:00 weekly meeting stays at 10:00 across DST.
 */

type Freq = 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';

const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
/** Unbounded series without a window end stop here, roughly two years of a daily event. */
const MAX_UNBOUNDED_OCCURRENCES = 730;
/** Guards against rules that never produce a match (e.g. a BYDAY set that is empty after filtering). */
const MAX_CANDIDATES = 100_000;

export interface Zone {
  /** Offset to add to a UTC instant to get wall-clock time. */
  offsetAt(utcMs: number): number;
  toUtc(floatingMs: number): number;
  readonly isUtc: boolean;
  /** What `zoneFromSpec` rebuilds it from (snapshots): `UTC`, `offset:<ms>` or an IANA zone name. */
  readonly spec: string;
}

export const UTC_ZONE: Zone = { offsetAt: () => 0, toUtc: (f) => f, isUtc: true, spec: 'UTC' };

export function fixedZone(offsetMs: number): Zone {
  if (offsetMs === 0) return UTC_ZONE;
  return { offsetAt: () => offsetMs, toUtc: (f) => f - offsetMs, isUtc: false, spec: `offset:${offsetMs}` };
}

export function namedZone(name: string): Zone {
  if (name === 'UTC' || name === 'Etc/UTC' || name === 'GMT') return UTC_ZONE;
  return { offsetAt: (u) => zoneOffsetMs(name, u), toUtc: (f) => floatingToUtc(f, name), isUtc: false, spec: name };
}

export function zoneFromSpec(spec: string): Zone {
  if (spec.startsWith('offset:')) {
    const offsetMs = Number(spec.slice('offset:'.length));
    if (!Number.isInteger(offsetMs)) throw new Error(`invalid zone spec ${spec}`);
    return fixedZone(offsetMs);
  }
  if (!isValidTimeZone(spec)) throw new Error(`invalid zone spec ${spec}`);
  return namedZone(spec);
}

/** The zone a series repeats in: its own timeZone, else the offset it was written with, else the calendar's. */
export function zoneForEventTime(t: EventTime, calendarZone: string): Zone {
  if (t.date) return UTC_ZONE;
  if (t.timeZone && isValidTimeZone(t.timeZone)) return namedZone(t.timeZone);
  const dt = t.dateTime ? parseDateTime(t.dateTime) : undefined;
  if (dt?.offsetMs !== undefined) return fixedZone(dt.offsetMs);
  return isValidTimeZone(calendarZone) ? namedZone(calendarZone) : UTC_ZONE;
}

interface Until {
  ms: number;
  /** Floating UNTIL values compare against wall-clock time; date-only ones include the whole day. */
  floating: boolean;
}

export interface RecurrenceRule {
  freq: Freq;
  interval: number;
  count?: number;
  until?: Until;
  /** Monday = 0 … Sunday = 6. */
  byDay?: number[];
  /** UTC starts (all-day: UTC midnight) that are skipped. They still count toward COUNT, as in RFC 5545. */
  exdates: Set<number>;
}

export interface Series {
  rule: RecurrenceRule;
  startMs: number;
  durationMs: number;
  allDay: boolean;
  zone: Zone;
}

export interface Occurrence {
  startMs: number;
  endMs: number;
}

export function parseRecurrence(lines: string[], zone: Zone, allDay: boolean): RecurrenceRule {
  let rule: RecurrenceRule | undefined;
  const exdates = new Set<number>();
  for (const raw of lines) {
    const line = raw.trim();
    const colon = line.indexOf(':');
    if (colon < 0) throw invalidRule(line);
    const head = line.slice(0, colon).toUpperCase();
    const value = line.slice(colon + 1);
    const [name, ...params] = head.split(';');
    if (name === 'RRULE') {
      if (rule) throw unsupported('more than one RRULE');
      rule = parseRRule(value);
    } else if (name === 'EXDATE') {
      const tzid = params.find((p) => p.startsWith('TZID='))?.slice(5);
      // TZID values keep their case (zone names are case-sensitive), so read them from the raw line.
      const rawTz = tzid ? /TZID=([^;:]+)/i.exec(raw)?.[1] : undefined;
      for (const v of value.split(',')) exdates.add(parseExdate(v.trim(), rawTz, zone, allDay));
    } else if (name === 'RDATE') {
      throw unsupported('RDATE');
    } else {
      throw invalidRule(line);
    }
  }
  if (!rule) throw invalidRule(lines.join('\n'));
  rule.exdates = exdates;
  return rule;
}

function parseRRule(value: string): RecurrenceRule {
  const parts = new Map<string, string>();
  for (const kv of value.split(';')) {
    if (!kv) continue;
    const eq = kv.indexOf('=');
    if (eq < 0) throw invalidRule(value);
    parts.set(kv.slice(0, eq).toUpperCase(), kv.slice(eq + 1).toUpperCase());
  }
  const freq = parts.get('FREQ');
  if (freq !== 'DAILY' && freq !== 'WEEKLY' && freq !== 'MONTHLY' && freq !== 'YEARLY') {
    throw freq ? unsupported(`FREQ=${freq}`) : invalidRule(value);
  }
  const rule: RecurrenceRule = { freq, interval: 1, exdates: new Set() };
  for (const [key, v] of parts) {
    switch (key) {
      case 'FREQ':
      case 'WKST':
        break;
      case 'INTERVAL':
        rule.interval = positiveInt(v, value);
        break;
      case 'COUNT':
        rule.count = positiveInt(v, value);
        break;
      case 'UNTIL':
        rule.until = parseUntil(v, value);
        break;
      case 'BYDAY':
        if (freq === 'MONTHLY' || freq === 'YEARLY') throw unsupported(`BYDAY with FREQ=${freq}`);
        rule.byDay = v.split(',').map((d) => {
          const i = WEEKDAYS.indexOf(d);
          if (i < 0) throw unsupported(`BYDAY=${d}`);
          return i;
        });
        rule.byDay.sort((a, b) => a - b);
        break;
      default:
        throw unsupported(key);
    }
  }
  if (rule.count !== undefined && rule.until) throw invalidRule(value);
  return rule;
}

function parseUntil(v: string, rule: string): Until {
  const date = /^(\d{4})(\d{2})(\d{2})$/.exec(v);
  if (date) return { ms: Date.UTC(+date[1], +date[2] - 1, +date[3]) + DAY_MS - 1, floating: true };
  const dt = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$/.exec(v);
  if (!dt) throw invalidRule(rule);
  const ms = Date.UTC(+dt[1], +dt[2] - 1, +dt[3], +dt[4], +dt[5], +dt[6]);
  return { ms, floating: dt[7] !== 'Z' };
}

function parseExdate(v: string, tzid: string | undefined, zone: Zone, allDay: boolean): number {
  const compact = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(v);
  if (compact) {
    const floating = Date.UTC(
      +compact[1],
      +compact[2] - 1,
      +compact[3],
      +(compact[4] ?? 0),
      +(compact[5] ?? 0),
      +(compact[6] ?? 0),
    );
    if (allDay || compact[7] === 'Z') return floating;
    if (tzid) {
      if (!isValidTimeZone(tzid)) throw invalidRule(`EXDATE;TZID=${tzid}`);
      return floatingToUtc(floating, tzid);
    }
    return compact[4] === undefined ? floating : zone.toUtc(floating);
  }
  // Google also accepts the extended forms in EXDATE; be as lenient.
  const d = parseDate(v);
  if (d !== undefined) return d;
  const dt = parseDateTime(v);
  if (dt) return dt.offsetMs !== undefined ? dt.floatingMs - dt.offsetMs : zone.toUtc(dt.floatingMs);
  throw invalidRule(`EXDATE:${v}`);
}

function positiveInt(v: string, rule: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw invalidRule(rule);
  return n;
}

const invalidRule = (text: string) => badRequest(`Invalid recurrence rule: ${text}`, 'invalid');
const unsupported = (what: string) => badRequest(`Recurrence ${what} is not supported by the calendar emulator.`, 'invalid');

const weekdayOf = (floatingMs: number): number => (new Date(floatingMs).getUTCDay() + 6) % 7;

/** Wall-clock candidates in increasing order; the caller decides when to stop. */
function* candidates(rule: RecurrenceRule, startFloating: number): Generator<number> {
  const dayStart = Math.floor(startFloating / DAY_MS) * DAY_MS;
  const timeOfDay = startFloating - dayStart;
  switch (rule.freq) {
    case 'DAILY':
      for (let k = 0; ; k++) {
        const c = startFloating + k * rule.interval * DAY_MS;
        if (!rule.byDay || rule.byDay.includes(weekdayOf(c))) yield c;
      }
    case 'WEEKLY': {
      const days = rule.byDay ?? [weekdayOf(startFloating)];
      const weekStart = dayStart - weekdayOf(startFloating) * DAY_MS;
      for (let w = 0; ; w++) {
        for (const d of days) {
          const c = weekStart + (w * rule.interval * 7 + d) * DAY_MS + timeOfDay;
          if (c >= startFloating) yield c;
        }
      }
    }
    case 'MONTHLY':
    case 'YEARLY': {
      const s = new Date(startFloating);
      const y = s.getUTCFullYear();
      const m = s.getUTCMonth();
      const d = s.getUTCDate();
      for (let k = 0; ; k++) {
        const months = rule.freq === 'MONTHLY' ? k * rule.interval : k * rule.interval * 12;
        const c = new Date(Date.UTC(y, m + months, d));
        // Months without that day (31st, Feb 29th) are skipped, as RFC 5545 says.
        if (c.getUTCDate() === d) yield c.getTime() + timeOfDay;
        else yield Number.NaN;
      }
    }
  }
}

export interface OccurrenceWindow {
  /** Occurrences that end at or before this are skipped. */
  fromMs?: number;
  /** Generation stops at the first occurrence starting at or after this. */
  toMs?: number;
}

export function* occurrences(series: Series, window: OccurrenceWindow = {}): Generator<Occurrence> {
  const { rule, zone } = series;
  const startFloating = series.startMs + zone.offsetAt(series.startMs);
  const unbounded = rule.count === undefined && !rule.until && window.toMs === undefined;
  let produced = 0;
  let emitted = 0;
  let seen = 0;
  for (const floating of candidates(rule, startFloating)) {
    if (++seen > MAX_CANDIDATES) return;
    if (Number.isNaN(floating)) continue;
    if (rule.count !== undefined && produced >= rule.count) return;
    const startMs = series.allDay ? floating : zone.toUtc(floating);
    if (rule.until && (rule.until.floating ? floating : startMs) > rule.until.ms) return;
    if (window.toMs !== undefined && startMs >= window.toMs) return;
    produced++;
    if (rule.exdates.has(startMs)) continue;
    const endMs = startMs + series.durationMs;
    if (window.fromMs !== undefined && endMs <= window.fromMs) continue;
    yield { startMs, endMs };
    if (unbounded && ++emitted >= MAX_UNBOUNDED_OCCURRENCES) return;
  }
}

/** End of the last occurrence, or Infinity for an open-ended series; lets list filters skip whole series. */
export function seriesEndMs(series: Series): number {
  if (series.rule.count === undefined && !series.rule.until) return Number.POSITIVE_INFINITY;
  let end = series.startMs + series.durationMs;
  for (const o of occurrences(series)) end = o.endMs;
  return end;
}
