import { randomBytes } from 'node:crypto';
import { resealInBatches } from './reseal.js';
import { TokenCipher } from './token-cipher.js';

describe('resealInBatches', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const before = new TokenCipher([oldKey]);
  const ring = new TokenCipher([newKey, oldKey]);
  const context = (id: number) => `credential:${id}`;

  function table(values: Map<number, string>, onReplace?: (id: number) => void) {
    return {
      batch: async (afterId: number, limit: number) =>
        [...values.entries()]
          .filter(([id]) => id > afterId)
          .sort(([a], [b]) => a - b)
          .slice(0, limit)
          .map(([id, sealed]) => ({ id, sealed })),
      replace: async (id: number, previous: string, next: string) => {
        onReplace?.(id);
        if (values.get(id) !== previous) return false;
        values.set(id, next);
        return true;
      },
      context,
    };
  }

  it('re-seals every row under the first key across batches, and reports what no key opens', async () => {
    const values = new Map<number, string>();
    for (let id = 1; id <= 7; id++) values.set(id, before.seal(`token ${id}`, context(id)));
    values.set(8, ring.seal('token 8', context(8)));
    values.set(9, new TokenCipher([randomBytes(32)]).seal('lost', context(9)));
    values.set(10, before.seal('moved from 1', context(1)));
    const report = await resealInBatches(ring, table(values), 3);
    expect(report).toEqual({ checked: 10, resealed: 7, current: 1, unreadable: 2, unreadableIds: [9, 10] });
    for (let id = 1; id <= 8; id++) expect(new TokenCipher([newKey]).open(values.get(id)!, context(id))).toBe(`token ${id}`);
  });

  it('never overwrites a value written meanwhile (a refreshed token wins)', async () => {
    const values = new Map<number, string>([[1, before.seal('stale', context(1))]]);
    const refreshed = ring.seal('refreshed', context(1));
    const report = await resealInBatches(
      ring,
      table(values, (id) => values.set(id, refreshed)),
    );
    expect(report).toMatchObject({ resealed: 0, current: 1, unreadable: 0 });
    expect(values.get(1)).toBe(refreshed);
  });
});
