import { resolveFlag } from './resolve-flag.js';

describe('resolveFlag', () => {
  const cases: Array<[boolean | null, boolean[], boolean | null, boolean, string]> = [
    // user, teams, global => enabled, reason
    [true, [], false, true, 'user'],
    [false, [true], true, false, 'user'],
    [true, [false], false, true, 'user'],
    [null, [true], false, true, 'team'],
    [null, [false], true, false, 'team'],
    [null, [false, true], false, true, 'team'],
    [null, [false, false], true, false, 'team'],
    [null, [], true, true, 'global'],
    [null, [], false, false, 'global'],
    [null, [], null, false, 'global'],
  ];

  it.each(cases)('user=%p teams=%p global=%p -> %p (%s)', (user, teams, global, enabled, reason) => {
    expect(resolveFlag({ user, teams, global })).toEqual({ enabled, reason });
  });
});
