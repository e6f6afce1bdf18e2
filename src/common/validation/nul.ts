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
