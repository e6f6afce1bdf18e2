import { BODY_TOO_DEEP, MAX_BODY_DEPTH, NUL_IN_BODY, parseJsonBody } from './json-body.js';

const nested = (levels: number, inner = '1') => `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;
const failure = (text: string) => {
  try {
    parseJsonBody(text);
  } catch (error) {
    return error as Error & { statusCode?: number; code?: string };
  }
  throw new Error('expected the body to be refused');
};

describe('parseJsonBody', () => {
  it('reads an empty body as no body, and JSON as its value', () => {
    expect(parseJsonBody('')).toBeUndefined();
    expect(parseJsonBody('  \n')).toBeUndefined();
    expect(parseJsonBody('{"value":[{"resourceData":{"id":"x"}}]}')).toEqual({ value: [{ resourceData: { id: 'x' } }] });
  });

  it(`takes containers ${MAX_BODY_DEPTH} levels deep and refuses ${MAX_BODY_DEPTH + 1}`, () => {
    expect(parseJsonBody(nested(MAX_BODY_DEPTH))).toBeDefined();
    expect(parseJsonBody(`{"a":${nested(MAX_BODY_DEPTH - 1)}}`)).toBeDefined();
    expect(failure(nested(MAX_BODY_DEPTH + 1))).toMatchObject({ statusCode: 400, code: BODY_TOO_DEEP });
    expect(failure(`{"a":${nested(MAX_BODY_DEPTH)}}`)).toMatchObject({ statusCode: 400, code: BODY_TOO_DEEP });
    // Scalars at the deepest level do not count as a level.
    expect(parseJsonBody(nested(MAX_BODY_DEPTH, '"text"'))).toBeDefined();
  });

  it('refuses 100,000 levels without overflowing the stack', () => {
    expect(failure(nested(100_000))).toMatchObject({ statusCode: 400, code: BODY_TOO_DEEP });
  });

  it('refuses a NUL character in any string or key, however deep, and takes the escaped backslash text', () => {
    for (const text of ['"a\\u0000"', '{"a\\u0000":1}', '{"a":[{"b":["x","y\\u0000z"]}]}']) {
      expect(failure(text)).toMatchObject({ statusCode: 400, code: NUL_IN_BODY });
    }
    expect(parseJsonBody('{"path":"C:\\\\u0000"}')).toEqual({ path: 'C:\\u0000' });
  });

  it('refuses what is not JSON with a readable message', () => {
    const error = failure('{"a":');
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/^Body is not valid JSON: /);
  });
});
