import { InvalidRequestError } from '../errors/domain-error.js';

/**
 * U+0000, which PostgreSQL's `text` and `jsonb` cannot store: a value holding it would fail its
 * statement (a 500, perhaps after other statements of the request ran), so the edges refuse it
 * first: the JSON body parser, and the pipes of path and query parameters read on their own.
 */
export const NUL_DETAIL = 'Text must not contain the NUL character (\\u0000): it cannot be stored';

export class NulCharacterError extends InvalidRequestError {
  constructor() {
    super(NUL_DETAIL, 'nul_character');
  }
}

/** True when a string anywhere in a parsed JSON value (keys included) holds U+0000. */
export function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) if (key.includes('\0') || holdsNul(inner)) return true;
  }
  return false;
}
