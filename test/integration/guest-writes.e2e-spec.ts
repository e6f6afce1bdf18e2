import { GoogleCalendarEmulator } from '../../emulators/google/google-calendar.emulator.js';
import { MicrosoftGraphEmulator } from '../../emulators/microsoft/microsoft-graph.emulator.js';
import { MetricsService } from '../../src/infrastructure/metrics/metrics.service.js';
import type { CreateEventInput } from '../../src/modules/providers/external-event.js';
import type { ProviderAuth } from '../../src/modules/providers/provider-auth.js';
import { isProviderError } from '../../src/modules/providers/provider.errors.js';
import { GoogleCalendarProvider } from '../../src/modules/providers/google/google-calendar.provider.js';
import { MicrosoftCalendarProvider } from '../../src/modules/providers/microsoft/microsoft-calendar.provider.js';
import { googleProviderConfig, microsoftProviderConfig } from '../support/provider-configs.js';

/**
 * A write whose guests changed, through each real client against its emulator: only those guests
 * change; rooms, optional attendees and the answers of everyone still invited stay; and a write
 * based on a version the host has edited since is refused, changing nothing.
 */
const input = (attendees: CreateEventInput['attendees']): CreateEventInput => ({
  title: 'Intro call',
  description: null,
  location: null,
  start: new Date('2030-03-04T10:00:00.000Z'),
  end: new Date('2030-03-04T10:30:00.000Z'),
  attendees,
  timeZone: 'UTC',
  idempotencyKey: 'c0ffee00-0000-4000-8000-000000000001',
});
const guest = { email: 'guest@example.com', name: 'Guest' };
const newcomer = { email: 'newcomer@example.com', name: 'Newcomer' };
const authOf = (accessToken: string, refreshToken: string): ProviderAuth => ({
  credentialId: 1,
  tokens: { accessToken, refreshToken, expiresAt: Date.now() + 3_600_000 },
  onTokensRefreshed: async () => undefined,
  onGrantRevoked: async () => undefined,
});

describe('Guest changes written to Google (googleapis against the emulator)', () => {
  let emu: GoogleCalendarEmulator;
  let provider: GoogleCalendarProvider;
  beforeAll(async () => {
    emu = await GoogleCalendarEmulator.start();
    const config = googleProviderConfig(emu, 'guest-writes-token');
    provider = new GoogleCalendarProvider(config, new MetricsService());
  });
  afterAll(async () => {
    await emu.stop(false);
  });

  it('changes only the guests that differ, and refuses a write based on an older version', async () => {
    const account = emu.addAccount({ email: 'host-g@example.com' });
    const auth = authOf(account.accessToken, account.refreshToken);
    const created = await provider.createEvent(auth, account.email, input([guest]));
    const edited = emu.updateEvent(account.email, created.id, {
      attendees: [
        { email: 'guest@example.com', displayName: 'Guest', responseStatus: 'accepted' },
        { email: 'leaving@example.com', responseStatus: 'declined' },
        { email: 'room-4@resource.example.com', displayName: 'Room 4', resource: true, responseStatus: 'accepted' },
      ],
    });
    const before = [guest, { email: 'leaving@example.com', name: null }];

    const stale = await provider
      .updateEvent(auth, account.email, created.id, input([guest, newcomer]), { ifMatch: created.etag, guestsBefore: before })
      .catch((error: unknown) => error);
    expect(isProviderError(stale, 'precondition_failed')).toBe(true);
    expect(emu.getEvent(account.email, created.id)?.etag).toBe(edited.etag);

    await provider.updateEvent(auth, account.email, created.id, input([guest, newcomer]), {
      ifMatch: edited.etag,
      guestsBefore: before,
    });
    const attendees = emu.getEvent(account.email, created.id)?.attendees ?? [];
    expect(attendees.map((a) => [a.email, a.responseStatus, Boolean(a.resource)])).toEqual([
      ['guest@example.com', 'accepted', false],
      ['room-4@resource.example.com', 'accepted', true],
      ['newcomer@example.com', 'needsAction', false],
    ]);
  });
});

describe('Guest changes written to Outlook (the Graph client against the emulator)', () => {
  let emu: MicrosoftGraphEmulator;
  let provider: MicrosoftCalendarProvider;
  beforeAll(async () => {
    emu = await MicrosoftGraphEmulator.start();
    const config = microsoftProviderConfig(
      emu,
      'https://127.0.0.1:9/api/webhooks/calendar-subscription/office365_calendar',
      'guest-writes-client-state',
    );
    provider = new MicrosoftCalendarProvider(config, new MetricsService());
  });
  afterAll(async () => {
    provider.onModuleDestroy();
    await emu.stop();
  });

  it('changes only the guests that differ, and refuses a write based on an older version', async () => {
    const account = emu.addAccount({ email: 'host-m@example.com' });
    const auth = authOf(account.accessToken, account.refreshToken);
    const created = await provider.createEvent(auth, account.calendarId, input([guest]));
    emu.updateEvent(created.id, {
      attendees: [
        { type: 'required', emailAddress: { address: 'guest@example.com', name: 'Guest' } },
        { type: 'optional', emailAddress: { address: 'leaving@example.com', name: 'Leaving' } },
        { type: 'resource', emailAddress: { address: 'room-4@resource.example.com', name: 'Room 4' } },
      ],
    });
    const edited = await provider.getEvent(auth, account.calendarId, created.id);
    const before = [guest, { email: 'leaving@example.com', name: 'Leaving' }];

    const stale = await provider
      .updateEvent(auth, account.calendarId, created.id, input([guest, newcomer]), {
        ifMatch: created.etag,
        guestsBefore: before,
      })
      .catch((error: unknown) => error);
    expect(isProviderError(stale, 'precondition_failed')).toBe(true);
    expect((await provider.getEvent(auth, account.calendarId, created.id))?.etag).toBe(edited?.etag);

    await provider.updateEvent(auth, account.calendarId, created.id, input([guest, newcomer]), {
      ifMatch: edited?.etag,
      guestsBefore: before,
    });
    const attendees = (emu.getEvent(created.id)?.attendees ?? []) as Array<{ type: string; emailAddress: { address: string } }>;
    expect(attendees.map((a) => [a.emailAddress.address, a.type])).toEqual([
      ['guest@example.com', 'required'],
      ['room-4@resource.example.com', 'resource'],
      ['newcomer@example.com', 'required'],
    ]);
  });
});
