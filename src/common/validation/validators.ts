import { type ValidationArguments, type ValidationOptions, registerDecorator } from 'class-validator';
import { MAX_ID, isIdString } from './ids.js';

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
/** Instants are stored as PostgreSQL timestamps and written back as ISO strings: years 1 to 9999 (UTC). */
const FIRST_INSTANT = new Date(0).setUTCFullYear(1, 0, 1); // (Date.UTC would read year 1 as 1901)
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * An ISO 8601 date-time with an explicit offset whose every field is in range: no 30 February
 * (Date.parse rolls it over into March), no hour 24 or second 60, an offset under a day, and a UTC
 * instant within years 1 to 9999 (an offset can push 9999-12-31 into year 10000).
 */
export function isInstant(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = ISO_INSTANT.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.slice(1).map((part) => Number(part ?? 0));
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return false;
  if (offsetHours > 23 || offsetMinutes > 59) return false;
  const at = Date.parse(value);
  return !Number.isNaN(at) && at >= FIRST_INSTANT && at <= LAST_INSTANT;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** An ISO 8601 date-time with an explicit offset; a bare local time would be ambiguous. */
export function IsInstant(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isInstant',
      target: object.constructor,
      propertyName,
      options: {
        message: `${propertyName} must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T10:00:00.000Z`,
        ...options,
      },
      validator: {
        validate: isInstant,
      },
    });
}

/** The decorated instant must be strictly after the sibling property `other`. */
export function IsAfter(other: string, options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isAfter',
      target: object.constructor,
      propertyName,
      constraints: [other],
      options: { message: `${propertyName} must be after ${other}`, ...options },
      validator: {
        validate: (value: unknown, args: ValidationArguments) => {
          const before = (args.object as Record<string, unknown>)[other];
          if (typeof value !== 'string' || typeof before !== 'string') return true;
          const a = Date.parse(before);
          const b = Date.parse(value);
          return Number.isNaN(a) || Number.isNaN(b) || b > a;
        },
      },
    });
}

/** How far in the past an instant may be and still count as "now" (clocks of callers drift). */
export const PAST_TOLERANCE_MS = 60_000;

/**
 * The decorated instant must not be in the past (more than `PAST_TOLERANCE_MS` ago). A failure
 * alone in a request is answered with its own `code` (`context.code`, e.g. `booking_in_past`)
 * instead of `validation_failed`; see the validation pipe.
 */
export function IsNotInPast(what: string, code: string, options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isNotInPast',
      target: object.constructor,
      propertyName,
      options: {
        message: `${propertyName} is in the past: ${what} must start now or later`,
        context: { code },
        ...options,
      },
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return true;
          const at = Date.parse(value);
          return Number.isNaN(at) || at >= Date.now() - PAST_TOLERANCE_MS;
        },
      },
    });
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function IsTimeZone(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isTimeZone',
      target: object.constructor,
      propertyName,
      options: { message: `${propertyName} must be an IANA time zone such as Europe/Berlin`, ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && isValidTimeZone(value) },
    });
}

/** A query parameter holding an id: a whole number from 1 to 2147483647 (ids are 32-bit). */
export function IsIdString(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isIdString',
      target: object.constructor,
      propertyName,
      options: { message: `${propertyName} must be a whole number from 1 to ${MAX_ID}`, ...options },
      validator: { validate: isIdString },
    });
}
