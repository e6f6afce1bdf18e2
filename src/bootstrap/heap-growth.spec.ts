import { applyHeapGrowth } from './heap-growth.js';

describe('applyHeapGrowth (HEAP_GROWING_PERCENT)', () => {
  const run = (percent: number, execArgv: string[] = []) => {
    const set: string[] = [];
    const applied = applyHeapGrowth(percent, execArgv, (flags) => set.push(flags));
    return { applied, set };
  };

  it('sets V8 heap growth to the percentage asked for', () => {
    expect(run(50)).toEqual({ applied: true, set: ['--heap-growing-percent=50'] });
    expect(run(120)).toEqual({ applied: true, set: ['--heap-growing-percent=120'] });
  });

  it('leaves V8 its own heuristics at 0', () => {
    expect(run(0)).toEqual({ applied: false, set: [] });
  });

  it('leaves a value given on the node command line alone', () => {
    expect(run(50, ['--heap-growing-percent=30'])).toEqual({ applied: false, set: [] });
    expect(run(50, ['--heap_growing_percent=30'])).toEqual({ applied: false, set: [] });
    expect(run(50, ['--max-old-space-size=512'])).toEqual({ applied: true, set: ['--heap-growing-percent=50'] });
  });
});
