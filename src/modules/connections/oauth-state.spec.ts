import { OAuthState } from './oauth-state.js';

describe('OAuthState', () => {
  const state = new OAuthState(Buffer.alloc(32, 7));

  it('opens what it signed, for the provider it was signed for', () => {
    expect(state.verify(state.sign(42, 'google_calendar'), 'google_calendar')).toMatchObject({
      userId: 42,
      provider: 'google_calendar',
    });
  });

  it.each<[string, (signed: string) => string, string]>([
    ['another provider', (s) => s, 'office365_calendar'],
    [
      'a changed payload',
      (s) =>
        `${Buffer.from(JSON.stringify({ userId: 1, provider: 'google_calendar', exp: Date.now() + 60_000 })).toString('base64url')}.${s.split('.')[1]}`,
      'google_calendar',
    ],
    ['a changed signature', (s) => `${s.split('.')[0]}.${'A'.repeat(43)}`, 'google_calendar'],
    ['no signature', (s) => s.split('.')[0], 'google_calendar'],
    ['garbage', () => 'not-a-state', 'google_calendar'],
  ])('refuses %s', (_name, tamper, provider) => {
    expect(state.verify(tamper(state.sign(42, 'google_calendar')), provider)).toBeNull();
  });

  it('refuses a state signed with another key', () => {
    const other = new OAuthState(Buffer.alloc(32, 8));
    expect(state.verify(other.sign(42, 'google_calendar'), 'google_calendar')).toBeNull();
  });

  it('refuses an expired state', () => {
    expect(state.verify(state.sign(42, 'google_calendar', -1), 'google_calendar')).toBeNull();
  });
});
