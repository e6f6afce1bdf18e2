import type { GoogleCalendarEmulator } from '../../emulators/google/google-calendar.emulator.js';
import type { MicrosoftGraphEmulator } from '../../emulators/microsoft/microsoft-graph.emulator.js';
import type { AppConfig } from '../../src/config/app-config.js';

/** What a provider adapter built by hand (outside an app) reads of the configuration, aimed at an emulator. */
export function googleProviderConfig(emu: GoogleCalendarEmulator, webhookToken: string): AppConfig {
  return {
    providerTimeoutMs: 10_000,
    google: {
      enabled: true,
      clientId: 'calsync-test-client',
      clientSecret: 'calsync-test-secret',
      apiRootUrl: emu.url,
      oauthTokenUrl: emu.tokenUrl,
      oauthAuthorizeUrl: emu.authorizeUrl,
      webhookUrl: 'http://127.0.0.1:9/api/webhooks/calendar-subscription/google_calendar',
      webhookToken,
      webhookTokenPrevious: null,
    },
  } as AppConfig;
}

export function microsoftProviderConfig(emu: MicrosoftGraphEmulator, webhookUrl: string, webhookToken: string): AppConfig {
  return {
    providerTimeoutMs: 10_000,
    microsoft: {
      enabled: true,
      clientId: 'calsync-test-client',
      clientSecret: 'calsync-test-secret',
      graphBaseUrl: emu.url,
      tokenUrl: emu.tokenUrl,
      oauthAuthorizeUrl: emu.authorizeUrl,
      webhookUrl,
      webhookToken,
      webhookTokenPrevious: null,
      caCertificate: emu.caCertificate,
    },
  } as AppConfig;
}
