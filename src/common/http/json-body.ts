import { NUL_DETAIL, holdsNul } from '../validation/nul.js';

/** The `code` of the parser's error for a body holding a NUL character (the exception filter answers it). */
export const NUL_IN_BODY = 'CALSYNC_NUL_IN_BODY';

/**
 * A request body as JSON: `undefined` for an empty one (Google pushes), else the parsed value.
 * Throws an error with `statusCode` 400 for invalid JSON, and for a string anywhere in it holding
 * U+0000 (see nul.ts): refused before anything runs. Only a body whose text has the escape
 * `\u0000` is walked (JSON cannot carry a raw NUL), so ordinary bodies pay one substring search.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw Object.assign(error as Error, { statusCode: 400, message: `Body is not valid JSON: ${(error as Error).message}` });
  }
  if (text.includes('\\u0000') && holdsNul(value)) {
    throw Object.assign(new Error(NUL_DETAIL), { statusCode: 400, code: NUL_IN_BODY });
  }
  return value;
}
