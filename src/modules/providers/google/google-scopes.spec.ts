import { missingGoogleScopes } from './google-calendar.provider.js';

describe('missingGoogleScopes', () => {
  const EVENTS = 'https://www.googleapis.com/auth/calendar.events';
  const READONLY = 'https://www.googleapis.com/auth/calendar.readonly';

  it('names what the user unticked on the consent screen', () => {
    expect(missingGoogleScopes(`${EVENTS} ${READONLY}`)).toEqual([]);
    expect(missingGoogleScopes(READONLY)).toEqual([EVENTS]);
    expect(missingGoogleScopes('openid email')).toEqual([EVENTS, READONLY]);
  });

  it('takes the full calendar scope for both, and no scope in the answer as all granted', () => {
    expect(missingGoogleScopes('https://www.googleapis.com/auth/calendar')).toEqual([]);
    expect(missingGoogleScopes(undefined)).toEqual([]);
  });
});
