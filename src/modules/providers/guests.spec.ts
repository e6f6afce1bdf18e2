import { applyGuests, sameGuests } from './guests.js';

describe('sameGuests', () => {
  it('is the same people with the same names, in any order and letter case', () => {
    const a = [
      { email: 'Ann@example.com', name: 'Ann' },
      { email: 'bob@example.com', name: null },
    ];
    expect(
      sameGuests(a, [
        { email: 'bob@example.com', name: null },
        { email: 'ann@example.com', name: 'Ann' },
      ]),
    ).toBe(true);
    expect(sameGuests(a, [{ email: 'ann@example.com', name: 'Ann' }])).toBe(false);
    expect(
      sameGuests(a, [
        { email: 'ann@example.com', name: 'Ann B.' },
        { email: 'bob@example.com', name: null },
      ]),
    ).toBe(false);
    expect(
      sameGuests(a, [
        { email: 'ann@example.com', name: 'Ann' },
        { email: 'carl@example.com', name: null },
      ]),
    ).toBe(false);
  });
});

describe('applyGuests', () => {
  interface Entry {
    email: string;
    answer: string;
    room?: boolean;
    name?: string;
  }
  const ops = {
    email: (e: Entry) => e.email,
    keep: (e: Entry) => Boolean(e.room),
    rename: (e: Entry, name: string) => ({ ...e, name }),
    add: (g: { email: string; name: string | null }): Entry => ({
      email: g.email,
      answer: 'none',
      ...(g.name ? { name: g.name } : {}),
    }),
  };

  it('keeps rooms and the answers of guests still invited, drops the uninvited, adds the new, renames', () => {
    const current: Entry[] = [
      { email: 'Ann@example.com', answer: 'accepted' },
      { email: 'room@example.com', answer: 'accepted', room: true },
      { email: 'gone@example.com', answer: 'declined' },
    ];
    expect(
      applyGuests(
        current,
        [
          { email: 'ann@example.com', name: 'Ann' },
          { email: 'new@example.com', name: null },
        ],
        ops,
      ),
    ).toEqual([
      { email: 'Ann@example.com', answer: 'accepted', name: 'Ann' },
      { email: 'room@example.com', answer: 'accepted', room: true },
      { email: 'new@example.com', answer: 'none' },
    ]);
  });

  it('never adds a second entry for someone already there as a kept entry', () => {
    const current: Entry[] = [{ email: 'room@example.com', answer: 'accepted', room: true }];
    expect(applyGuests(current, [{ email: 'room@example.com', name: null }], ops)).toEqual(current);
  });
});
