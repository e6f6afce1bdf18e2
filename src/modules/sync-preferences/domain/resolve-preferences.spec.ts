import { DEFAULT_PREFERENCES, resolvePreferences, valuesOf } from './resolve-preferences.js';

describe('resolvePreferences', () => {
  it('nothing set: the defaults', () => {
    expect(valuesOf(resolvePreferences(null, []))).toEqual(DEFAULT_PREFERENCES);
    expect(resolvePreferences(null, []).applyDetails).toEqual({ value: true, source: 'default' });
  });

  it('field by field: the user over the teams over the defaults', () => {
    const explained = resolvePreferences({ applyDetails: false, applyAttendees: null }, [
      { teamId: 7, stored: { applyCancellations: false, applyDetails: true, applyAttendees: false } },
    ]);
    expect(explained).toEqual({
      applyReschedules: { value: true, source: 'default' },
      applyCancellations: { value: false, source: 'team', teamId: 7 },
      applyDetails: { value: false, source: 'user' },
      applyAttendees: { value: false, source: 'team', teamId: 7 },
      conflictPolicy: { value: 'accept', source: 'default' },
    });
  });

  it('teams that disagree: the more restrictive value, then the lowest team id, whatever the order', () => {
    const teams = [
      { teamId: 9, stored: { applyReschedules: true, conflictPolicy: 'flag' as const } },
      { teamId: 4, stored: { applyReschedules: false, conflictPolicy: 'accept' as const } },
      { teamId: 2, stored: { applyReschedules: false, conflictPolicy: 'revert' as const } },
    ];
    for (const order of [teams, [...teams].reverse()]) {
      const explained = resolvePreferences(null, order);
      expect(explained.applyReschedules).toEqual({ value: false, source: 'team', teamId: 2 });
      expect(explained.conflictPolicy).toEqual({ value: 'revert', source: 'team', teamId: 2 });
    }
    expect(resolvePreferences(null, teams.slice(0, 2)).conflictPolicy).toEqual({ value: 'flag', source: 'team', teamId: 9 });
  });
});
