import { isInstant } from './validators.js';

describe('isInstant', () => {
  it.each([
    '2026-12-01T10:00:00.000Z',
    '2026-12-01T10:00Z',
    '2026-12-01T10:00:00+05:30',
    '2028-02-29T00:00:00Z',
    '2000-02-29T23:59:59.999999999Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T23:00:00+05:00',
  ])('takes %s', (value) => expect(isInstant(value)).toBe(true));

  it.each([
    ['2026-02-30T10:00:00Z', 'a day February does not have (Date.parse rolls it into March)'],
    ['2027-02-29T10:00:00Z', 'a leap day in a common year'],
    ['1900-02-29T10:00:00Z', 'a leap day in a century year'],
    ['2026-04-31T10:00:00Z', 'day 31 of a 30-day month'],
    ['2026-13-01T10:00:00Z', 'month 13'],
    ['2026-00-10T10:00:00Z', 'month 0'],
    ['2026-12-00T10:00:00Z', 'day 0'],
    ['2026-12-01T24:00:00Z', 'hour 24'],
    ['2026-12-01T10:60:00Z', 'minute 60'],
    ['2026-12-01T10:00:60Z', 'second 60'],
    ['2026-12-01T10:00:00+24:00', 'an offset of a day'],
    ['9999-12-31T23:00:00-05:00', 'year 10000 once in UTC'],
    ['0000-06-01T00:00:00Z', 'year 0'],
    ['2026-12-01T10:00:00', 'no offset'],
    ['2026-12-01', 'a date alone'],
    ['2026-12-01T10:00:00.000Z ', 'trailing text'],
  ])('refuses %s (%s)', (value) => expect(isInstant(value)).toBe(false));

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 1764583200000, {}, ['2026-12-01T10:00:00Z']]) expect(isInstant(value)).toBe(false);
  });
});
