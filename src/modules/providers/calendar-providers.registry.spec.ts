import type { AppConfig } from '../../config/app-config.js';
import { CalendarProvidersRegistry } from './calendar-providers.registry.js';
import type { GoogleCalendarProvider } from './google/google-calendar.provider.js';
import type { MicrosoftCalendarProvider } from './microsoft/microsoft-calendar.provider.js';

const google = { name: 'google_calendar' } as GoogleCalendarProvider;
const microsoft = { name: 'office365_calendar' } as MicrosoftCalendarProvider;
const registry = (enabled: { google: boolean; microsoft: boolean }) =>
  new CalendarProvidersRegistry(google, microsoft, {
    google: { enabled: enabled.google },
    microsoft: { enabled: enabled.microsoft },
  } as AppConfig);

describe('CalendarProvidersRegistry', () => {
  it('holds the providers this deployment has an OAuth client (or a sandbox) for, Google as Outlook', () => {
    expect(
      registry({ google: true, microsoft: true })
        .all()
        .map((p) => p.name),
    ).toEqual(['google_calendar', 'office365_calendar']);
    const outlookOnly = registry({ google: false, microsoft: true });
    expect(outlookOnly.has('google_calendar')).toBe(false);
    expect(() => outlookOnly.get('google_calendar')).toThrow('Provider "google_calendar" is not available in this deployment');
    expect(outlookOnly.get('office365_calendar')).toBe(microsoft);
    expect(registry({ google: true, microsoft: false }).all()).toEqual([google]);
  });
});
