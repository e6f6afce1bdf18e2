import { SecretMatcher, constantTimeEquals } from './constant-time.js';

describe('SecretMatcher', () => {
  const matcher = new SecretMatcher('s3cret-token-Ä');

  it('accepts exactly the secret', () => {
    expect(matcher.matches('s3cret-token-Ä')).toBe(true);
  });

  it.each([
    ['a different value of the same length', 's3cret-token-Ö'],
    ['a prefix', 's3cret-token-'],
    ['the secret with more after it', 's3cret-token-Äx'],
    ['the empty string', ''],
    ['a value of the same length in characters but not in bytes', 's3cret-token-A'],
  ])('refuses %s', (_label, given) => {
    expect(matcher.matches(given)).toBe(false);
  });

  it('refuses missing values', () => {
    expect(matcher.matches(undefined)).toBe(false);
    expect(matcher.matches(null)).toBe(false);
  });

  it('matches nothing when no secret is configured', () => {
    const empty = new SecretMatcher('');
    expect(empty.matches('')).toBe(false);
    expect(empty.matches('anything')).toBe(false);
  });
});

describe('constantTimeEquals', () => {
  it('compares values of any length', () => {
    expect(constantTimeEquals('abc', 'abc')).toBe(true);
    expect(constantTimeEquals('abc', 'abcd')).toBe(false);
    expect(constantTimeEquals(undefined, 'abc')).toBe(false);
    expect(constantTimeEquals('', '')).toBe(false);
  });
});
