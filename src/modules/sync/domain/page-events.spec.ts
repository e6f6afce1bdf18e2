import type { ExternalEvent } from '../../providers/external-event.js';
import { cancelledPlaceholder, lastCopyById } from './page-events.js';

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
