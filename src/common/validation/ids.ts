/**
 * The ids callers send (users, teams, credentials, calendars, bookings, endpoints…) are PostgreSQL
 * `integer`s (`SERIAL`): a number past this reaches the database only as an "out of range" error,
 * so such an id in a path, a query, a body or a cursor is checked against it. (Webhook deliveries
 * are `BIGSERIAL`: `BigIdParamPipe`.)
 */
export const MAX_ID = 2_147_483_647;

/** A positive id written as a string (a path or query parameter): `1` to `MAX_ID`, no sign, no leading zero. */
export function isIdString(value: unknown): value is string {
  return typeof value === 'string' && /^[1-9]\d{0,9}$/.test(value) && Number(value) <= MAX_ID;
}

/** A row id as a cursor position holds it: a whole number from 1 to `MAX_ID`. */
export function isId(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_ID;
}
