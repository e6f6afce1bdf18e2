import { NUL_DETAIL } from '../validation/nul.js';

/** The `code` of the parser's error for a body holding a NUL character (the exception filter answers it). */
export const NUL_IN_BODY = 'CALSYNC_NUL_IN_BODY';
export const UNSUPPORTED_CONTENT_ENCODING = 'CALSYNC_UNSUPPORTED_CONTENT_ENCODING';
/** The `code` of the parser's error for a body nested deeper than `MAX_BODY_DEPTH`. */
export const BODY_TOO_DEEP = 'CALSYNC_BODY_TOO_DEEP';
/**
 * No calsync body nests deeper than 4 (a Graph notification's `resourceData`); past this, a body is
 * refused before validation, whose transformer and validator recurse once per level (a body of
 * 100,000 nested arrays, well under 1 MiB, overflowed the stack: a 500).
 */
export const MAX_BODY_DEPTH = 32;

type BodyError = Error & { statusCode: number; code: string };

/**
 * A request body as JSON: `undefined` for an empty one (Google pushes), else the parsed value.
 * Throws an error with `statusCode` 400 for invalid JSON, for a body nested deeper than
 * `MAX_BODY_DEPTH`, and for a string anywhere in it holding U+0000 (see nul.ts): refused before
 * anything runs. The walk is a loop, not recursion, and looks at strings only when the text has the
 * escape `\u0000` (JSON cannot carry a raw NUL).
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw Object.assign(error as Error, { statusCode: 400, message: `Body is not valid JSON: ${(error as Error).message}` });
  }
  const problem = inspect(value, text.includes('\\u0000'));
  if (problem === 'deep') throw bodyError(`Body is nested more than ${MAX_BODY_DEPTH} levels deep`, BODY_TOO_DEEP);
  if (problem === 'nul') throw bodyError(NUL_DETAIL, NUL_IN_BODY);
  return value;
}

function bodyError(message: string, code: string): BodyError {
  return Object.assign(new Error(message), { statusCode: 400, code });
}

/**
 * 'deep' when a container sits deeper than `MAX_BODY_DEPTH`, 'nul' when a string or key holds U+0000
 * (looked for only when asked). A loop over two parallel stacks of containers, strings looked at in
 * place: every body pays it, and Graph's ten-item notification costs it about 0.4 µs (a walk
 * allocating a pair per value cost ten times that).
 */
function inspect(root: unknown, lookForNul: boolean): 'deep' | 'nul' | null {
  if (root === null || typeof root !== 'object')
    return lookForNul && typeof root === 'string' && root.includes('\0') ? 'nul' : null;
  const values: object[] = [root];
  const depths: number[] = [1];
  const visit = (item: unknown, depth: number): boolean => {
    if (item !== null && typeof item === 'object') {
      values.push(item);
      depths.push(depth + 1);
      return false;
    }
    return lookForNul && typeof item === 'string' && item.includes('\0');
  };
  while (values.length > 0) {
    const value = values.pop() as Record<string, unknown> | unknown[];
    const depth = depths.pop() as number;
    if (depth > MAX_BODY_DEPTH) return 'deep';
    if (Array.isArray(value)) {
      for (const item of value) if (visit(item, depth)) return 'nul';
    } else {
      for (const key in value) if ((lookForNul && key.includes('\0')) || visit(value[key], depth)) return 'nul';
    }
  }
  return null;
}

/**
 * A body sent with a content coding (gzip, br, …): 415, as RFC 9110 §15.5.16 asks, rather than
 * reading compressed bytes as JSON (a 400 quoting binary) or ignoring a coding it does not know.
 */
export function unsupportedEncoding(header: string | string[] | undefined): Error | null {
  const codings = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return null;
  const named = codings.join(', ');
  const shown = named.length > 60 ? `${named.slice(0, 60)}…` : named;
  return Object.assign(new Error(`Content-Encoding ${shown} is not accepted: send the body uncompressed`), {
    statusCode: 415,
    code: UNSUPPORTED_CONTENT_ENCODING,
  });
}
