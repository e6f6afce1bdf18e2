import type { ExternalEvent } from '../../providers/external-event.js';
import { cancelledPlaceholder, deferDeletions, lastCopyById } from './page-events.js';

const copy = (id: string, title: string): ExternalEvent => ({
  ...cancelledPlaceholder(id),
  status: 'confirmed',
  removal: null,
  title,
});

describe('lastCopyById', () => {
  it.each<[string, ExternalEvent[], Array<[string, string]>]>([
    ['no events', [], []],
    [
      'distinct ids, in their order',
      [copy('a', '1'), copy('b', '1')],
      [
        ['a', '1'],
        ['b', '1'],
      ],
    ],
    [
      'a repeated id: its last copy, at the place of that copy',
      [copy('a', '1'), copy('b', '1'), copy('a', '2')],
      [
        ['b', '1'],
        ['a', '2'],
      ],
    ],
    ['three copies of one id', [copy('a', '1'), copy('a', '2'), copy('a', '3')], [['a', '3']]],
  ])('%s', (_name, events, expected) => {
    expect(lastCopyById(events).map((e) => [e.id, e.title])).toEqual(expected);
  });

  it('returns the page itself when nothing repeats', () => {
    const page = [copy('a', '1'), copy('b', '1')];
    expect(lastCopyById(page)).toBe(page);
  });
});

describe('deferDeletions: a run hands all its deletions to the bookings side with its last page', () => {
  const gone = (id: string) => cancelledPlaceholder(id);
  const ids = (events: ExternalEvent[]) => events.map((e) => `${e.id}:${e.status === 'cancelled' ? 'x' : e.title}`);

  it.each<[string, Array<{ page: ExternalEvent[]; now: string[] }>]>([
    ['one page: everything at once', [{ page: [copy('a', '1'), gone('b')], now: ['a:1', 'b:x'] }]],
    [
      'deletions of earlier pages wait, changes do not',
      [
        { page: [copy('a', '1'), gone('b')], now: ['a:1'] },
        { page: [gone('c')], now: [] },
        { page: [copy('d', '1')], now: ['b:x', 'c:x', 'd:1'] },
      ],
    ],
    [
      'a later copy of the event replaces its waiting deletion',
      [
        { page: [gone('a'), gone('b')], now: [] },
        { page: [copy('a', '2')], now: ['a:2'] },
        { page: [], now: ['b:x'] },
      ],
    ],
    [
      'a deletion on the last page replaces an earlier copy',
      [
        { page: [copy('a', '1')], now: ['a:1'] },
        { page: [gone('a')], now: ['a:x'] },
      ],
    ],
  ])('%s', (_name, pages) => {
    const waiting = new Map<string, ExternalEvent>();
    pages.forEach(({ page, now }, i) => {
      expect(ids(deferDeletions(waiting, page, i === pages.length - 1))).toEqual(now);
    });
    expect(waiting.size).toBe(0);
  });
});
