import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches, MaxLength } from 'class-validator';
import { InvalidRequestError } from '../errors/domain-error.js';
import { isId } from '../validation/ids.js';

/**
 * Cursor paging, the one shape of every list that can grow: `{items, nextCursor}`. `limit`
 * defaults to 50 and is at most 200; `nextCursor` is null on the last page; `after` takes the
 * `nextCursor` of the page before. A list is a keyset walk on a stable, unique order (for example
 * `id`, or `("updatedAt", id)`), so rows inserted or changed while a client walks never make it
 * skip or repeat a row that stays put. Hand-written rather than a library: it is two small
 * functions, and the cursor format must stay stable across releases (clients store cursors).
 *
 * A cursor is opaque to clients: base64url of `{"k": <list kind>, "p": [<position>]}`. The kind
 * keeps a cursor of one list from being used on another; a cursor that does not decode, or is of
 * another list, or whose position does not have the list's shape, is a 400 (`invalid_cursor`).
 */

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;
/** A cursor longer than this is not one of ours. */
const MAX_CURSOR_LENGTH = 1024;

export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** A position in a list's order: strings and numbers only (timestamps travel as exact strings). */
export type CursorPosition = ReadonlyArray<string | number>;

export class InvalidCursorError extends InvalidRequestError {
  constructor(detail = 'after is not a cursor of this list; pass the nextCursor of the previous page') {
    super(detail, 'invalid_cursor');
  }
}

/** `limit` and `after`, validated; extend it with the list's own filters. */
export class PageQueryDto {
  @ApiPropertyOptional({ description: `page size, 1 to ${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT})`, example: 50 })
  @IsOptional()
  @Matches(/^(?:[1-9]\d?|1\d\d|200)$/, { message: `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}` })
  limit?: string;

  @ApiPropertyOptional({ description: 'the nextCursor of the previous page' })
  @IsOptional()
  @MaxLength(MAX_CURSOR_LENGTH, { message: 'after is not a valid cursor' })
  after?: string;
}

/** The page size asked for (`limit`), or the default; above the maximum is a 400. */
export function pageLimit(raw: string | number | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PAGE_LIMIT;
  // Digits only: Number() would also take "1e2", "0x10" or " 100 ".
  if (typeof raw === 'string' && !/^[1-9]\d{0,2}$/.test(raw)) throw new InvalidPageLimitError();
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE_LIMIT) {
    throw new InvalidPageLimitError();
  }
  return value;
}

export class InvalidPageLimitError extends InvalidRequestError {
  constructor() {
    super(`limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`, 'invalid_limit');
  }
}

export function encodeCursor(kind: string, position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ k: kind, p: position })).toString('base64url');
}

/**
 * The position a cursor of list `kind` stands for, checked against `shape` (one entry per
 * position element: 'string', 'id' (a row id, 1 to `MAX_ID`: `isId`) or a custom check); `undefined` when
 * there is no cursor. A position our own pages could not have written is a 400 here, not a
 * database error later.
 */
export function decodeCursor(
  kind: string,
  raw: string | undefined,
  shape: ReadonlyArray<'string' | 'id' | ((value: unknown) => boolean)>,
): Array<string | number> | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(raw)) throw new InvalidCursorError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  const cursor = parsed as { k?: unknown; p?: unknown } | null;
  if (!cursor || typeof cursor !== 'object' || cursor.k !== kind || !Array.isArray(cursor.p)) throw new InvalidCursorError();
  const position = cursor.p as unknown[];
  if (position.length !== shape.length) throw new InvalidCursorError();
  shape.forEach((check, i) => {
    const value = position[i];
    const ok = check === 'string' ? typeof value === 'string' : check === 'id' ? isId(value) : check(value);
    if (!ok) throw new InvalidCursorError();
  });
  return position as Array<string | number>;
}

/**
 * Builds a page from rows read with `LIMIT limit + 1` in the list's order: the extra row only
 * says there is a next page; the cursor points at the last row returned.
 */
export function pageFrom<R, T = R>(
  kind: string,
  rows: R[],
  limit: number,
  positionOf: (row: R) => CursorPosition,
  toItem: (row: R) => T = (row) => row as unknown as T,
): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return {
    items: kept.map(toItem),
    nextCursor: more && kept.length > 0 ? encodeCursor(kind, positionOf(kept[kept.length - 1])) : null,
  };
}
