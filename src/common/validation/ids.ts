/**
 * Ids are PostgreSQL `integer`s (`SERIAL`): a number past this reaches the database only as an
 * "out of range" error, so every id a caller sends (path, query, body, cursor) is checked against it.
 */
export const MAX_ID = 2_147_483_647;

/** A positive id written as a string (a path or query parameter): `1` to `MAX_ID`, no sign, no leading zero. */
export function isIdString(value: unknown): value is string {
  return typeof value === 'string' && /^[1-9]\d{0,9}$/.test(value) && Number(value) <= MAX_ID;
}
