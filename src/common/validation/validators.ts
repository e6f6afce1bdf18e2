import { type ValidationArguments, type ValidationOptions, registerDecorator } from 'class-validator';
import { MAX_ID, isIdString } from './ids.js';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

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
        validate: (value: unknown) => typeof value === 'string' && ISO_INSTANT.test(value) && !Number.isNaN(Date.parse(value)),
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
