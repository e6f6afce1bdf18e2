import { badRequest } from './errors.js';
import { DAY_MS, floatingToUtc, floorDay, parseDate, requireTimeZone } from './time.js';
import type { DayOfWeek, PatternedRecurrence } from './types.js';

/**
 * The patternedRecurrence subset the emulator expands: daily, weekly (interval, daysOfWeek, firstDayOfWeek),
 * absoluteMonthly and absoluteYearly, with endDate / numbered / noEnd ranges. Anything else is a 400 that
 * names the emulator, so a test learns it reached a limit of the emulator, not of Graph.
 */

/** Everything an expansion needs; masters keep one per version of their recurrence (see seriesHistory). */
export interface SeriesSpec {
  recurrence: PatternedRecurrence;
  /** IANA zone the series repeats in (wall-clock time is kept across DST). */
  zone: string;
  /** Wall-clock time of day of the first occurrence, in ms after midnight. */
  timeOfDayMs: number;
  /** Wall-clock length of an occurrence. */
  durationMs: number;
  allDay: boolean;
}

export interface Occurrence {
  /** Absolute start/end. */
  startMs: number;
  endMs: number;
  /** Wall-clock start in the series zone. */
  floatingStartMs: number;
}

const DAYS: DayOfWeek[] = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
/** An open-ended series with no window to stop it is cut here (two years of dailies). */
export const MAX_OCCURRENCES = 730;
/** Guards the generator against patterns that never produce a date in range. */
const MAX_STEPS = 50_000;

/** Validates and normalises a recurrence from a request body; `startDate` defaults to the event's start date. */
export function parseRecurrence(input: unknown, defaultStartDate: string): PatternedRecurrence {
  if (!input || typeof input !== 'object') throw badRequest('recurrence must be an object with pattern and range.');
  const { pattern, range } = input as { pattern?: Record<string, unknown>; range?: Record<string, unknown> };
  if (!pattern || typeof pattern !== 'object' || !range || typeof range !== 'object') {
    throw badRequest('recurrence needs both pattern and range.');
  }
  const type = pattern.type;
  if (type !== 'daily' && type !== 'weekly' && type !== 'absoluteMonthly' && type !== 'absoluteYearly') {
    throw badRequest(
      `Recurrence pattern type '${String(type)}' is not supported by the emulator (daily, weekly, absoluteMonthly, absoluteYearly).`,
    );
  }
  const interval = pattern.interval === undefined ? 1 : Number(pattern.interval);
  if (!Number.isInteger(interval) || interval < 1 || interval > 99) throw badRequest('Recurrence interval must be 1-99.');
  const out: PatternedRecurrence = {
    pattern: { type, interval },
    range: { type: 'noEnd', startDate: defaultStartDate },
  };
  if (type === 'weekly') {
    const days = pattern.daysOfWeek;
    if (!Array.isArray(days) || days.length === 0 || !days.every((d) => DAYS.includes(String(d).toLowerCase() as DayOfWeek))) {
      throw badRequest('A weekly recurrence needs daysOfWeek (sunday..saturday).');
    }
    out.pattern.daysOfWeek = [...new Set(days.map((d) => String(d).toLowerCase() as DayOfWeek))];
    const first = String(pattern.firstDayOfWeek ?? 'sunday').toLowerCase() as DayOfWeek;
    if (!DAYS.includes(first)) throw badRequest(`Invalid firstDayOfWeek: ${String(pattern.firstDayOfWeek)}`);
    out.pattern.firstDayOfWeek = first;
  }
  if (type === 'absoluteMonthly' || type === 'absoluteYearly') {
    const dom = Number(pattern.dayOfMonth);
    if (!Number.isInteger(dom) || dom < 1 || dom > 31) throw badRequest('dayOfMonth must be 1-31.');
    out.pattern.dayOfMonth = dom;
    if (type === 'absoluteYearly') {
      const month = Number(pattern.month);
      if (!Number.isInteger(month) || month < 1 || month > 12) throw badRequest('month must be 1-12.');
      out.pattern.month = month;
    }
  }
  const rangeType = range.type ?? 'noEnd';
  const startDate = range.startDate === undefined ? defaultStartDate : range.startDate;
  if (parseDate(startDate) === undefined) throw badRequest(`Invalid range startDate: ${String(startDate)}`);
  out.range.startDate = startDate as string;
  if (rangeType === 'endDate') {
    if (parseDate(range.endDate) === undefined) throw badRequest('An endDate range needs endDate (YYYY-MM-DD).');
    if ((range.endDate as string) < out.range.startDate) throw badRequest('The range endDate is before its startDate.');
    out.range = { ...out.range, type: 'endDate', endDate: range.endDate as string };
  } else if (rangeType === 'numbered') {
    const n = Number(range.numberOfOccurrences);
    if (!Number.isInteger(n) || n < 1) throw badRequest('A numbered range needs numberOfOccurrences >= 1.');
    out.range = { ...out.range, type: 'numbered', numberOfOccurrences: n };
  } else if (rangeType !== 'noEnd') {
    throw badRequest(`Invalid recurrence range type: ${String(rangeType)}`);
  }
  if (typeof range.recurrenceTimeZone === 'string' && range.recurrenceTimeZone) {
    requireTimeZone(range.recurrenceTimeZone);
    out.range.recurrenceTimeZone = range.recurrenceTimeZone;
  }
  return out;
}

export function seriesSpec(
  recurrence: PatternedRecurrence,
  start: { floatingMs: number; zone: string },
  endFloatingMs: number,
  allDay: boolean,
): SeriesSpec {
  // Occurrences start at the event's own wall-clock time in the event's own zone; Graph's
  // `recurrenceTimeZone` is the zone of the range's startDate and endDate, not of the times. (The
  // emulator reads those dates in the event's zone too: the two differ only when they would put
  // the range's first or last day on another date.)
  if (recurrence.range.recurrenceTimeZone) requireTimeZone(recurrence.range.recurrenceTimeZone);
  return {
    recurrence,
    zone: start.zone,
    timeOfDayMs: start.floatingMs - floorDay(start.floatingMs),
    durationMs: endFloatingMs - start.floatingMs,
    allDay,
  };
}

/**
 * Occurrences overlapping [fromMs, toMs) in start order. Without toMs an open-ended series stops after
 * MAX_OCCURRENCES; numbered and endDate ranges stop by themselves.
 */
export function occurrences(spec: SeriesSpec, window: { fromMs?: number; toMs?: number } = {}): Occurrence[] {
  const out: Occurrence[] = [];
  for (const floatingDay of occurrenceDays(spec)) {
    const floatingStartMs = floatingDay + spec.timeOfDayMs;
    const startMs = floatingToUtc(floatingStartMs, spec.zone);
    if (window.toMs !== undefined && startMs >= window.toMs) break;
    const endMs = floatingToUtc(floatingStartMs + spec.durationMs, spec.zone);
    if (window.fromMs === undefined || endMs > window.fromMs || (endMs === startMs && startMs >= window.fromMs)) {
      out.push({ startMs, endMs, floatingStartMs });
    }
    if (window.toMs === undefined && spec.recurrence.range.type === 'noEnd' && out.length >= MAX_OCCURRENCES) break;
  }
  return out;
}

/** The occurrence that starts exactly at `startMs`, if the series has one. */
export function occurrenceAt(spec: SeriesSpec, startMs: number): Occurrence | undefined {
  return occurrences(spec, { fromMs: startMs, toMs: startMs + 1 }).find((o) => o.startMs === startMs);
}

/** Floating midnights of the occurrence days, in order, honouring the range end. */
function* occurrenceDays(spec: SeriesSpec): Generator<number> {
  const { pattern, range } = spec.recurrence;
  const startDay = parseDate(range.startDate) as number;
  const endDay = range.type === 'endDate' ? (parseDate(range.endDate) as number) : Infinity;
  const maxCount = range.type === 'numbered' ? (range.numberOfOccurrences as number) : Infinity;
  let count = 0;
  const emit = function* (day: number): Generator<number, boolean> {
    if (day < startDay) return true;
    if (day > endDay || count >= maxCount) return false;
    count++;
    yield day;
    return true;
  };
  for (let step = 0; step < MAX_STEPS; step++) {
    const days = candidateDays(pattern, startDay, step);
    for (const day of days) {
      if (!(yield* emit(day))) return;
    }
  }
}

/** The days the pattern's step-th period contributes (one for daily/monthly/yearly, several for weekly). */
function candidateDays(pattern: PatternedRecurrence['pattern'], startDay: number, step: number): number[] {
  const start = new Date(startDay);
  switch (pattern.type) {
    case 'daily':
      return [startDay + step * pattern.interval * DAY_MS];
    case 'weekly': {
      const first = DAYS.indexOf(pattern.firstDayOfWeek ?? 'sunday');
      const back = (start.getUTCDay() - first + 7) % 7;
      const weekStart = startDay - back * DAY_MS + step * pattern.interval * 7 * DAY_MS;
      return (pattern.daysOfWeek ?? [])
        .map((d) => (DAYS.indexOf(d) - first + 7) % 7)
        .sort((a, b) => a - b)
        .map((offset) => weekStart + offset * DAY_MS);
    }
    case 'absoluteMonthly': {
      const monthIndex = start.getUTCMonth() + step * pattern.interval;
      return validDay(start.getUTCFullYear(), monthIndex, pattern.dayOfMonth as number);
    }
    case 'absoluteYearly':
      return validDay(
        start.getUTCFullYear() + step * pattern.interval,
        (pattern.month as number) - 1,
        pattern.dayOfMonth as number,
      );
    default:
      return [];
  }
}

/** A month without that day (the 31st of April) contributes nothing, as in Outlook. */
function validDay(year: number, monthIndex: number, dayOfMonth: number): number[] {
  const ms = Date.UTC(year, monthIndex, dayOfMonth);
  const d = new Date(ms);
  return d.getUTCDate() === dayOfMonth ? [ms] : [];
}
