import { randomBytes } from 'node:crypto';
import type { AppConfig } from '../config/app-config.js';

export interface Sandbox {
  config: AppConfig;
  googleUrl: string;
  account: { email: string; accessToken: string; refreshToken: string };
  stop(): Promise<void>;
}

export const SANDBOX_EMAIL = 'demo@sandbox.calsync.local';
/** Fixed, so a credential stored in an earlier run keeps working against a restarted sandbox. */
export const SANDBOX_REFRESH_TOKEN = 'sandbox-refresh-token';

/**
 * Without real Google credentials the service serves the Google emulator on loopback and talks to
 * it exactly as it would to Google, so the whole loop can be tried by hand. Its calendars live in
 * memory: they start empty on each run.
 */
export async function startSandbox(config: AppConfig, port = 0): Promise<Sandbox> {
  // Loaded lazily: production images never touch the emulator code.
  const { GoogleCalendarEmulator } = await import('../../emulators/google/google-calendar.emulator.js');
  const emulator = await GoogleCalendarEmulator.start({ port });
  const account = emulator.addAccount({ email: SANDBOX_EMAIL, refreshToken: SANDBOX_REFRESH_TOKEN });
  emulator.addCalendar(SANDBOX_EMAIL, { id: 'team@sandbox.calsync.local', summary: 'Team calendar' });
  return {
    config: {
      ...config,
      google: {
        ...config.google,
        enabled: true,
        clientId: 'calsync-sandbox',
        clientSecret: 'calsync-sandbox-secret',
        apiRootUrl: emulator.url,
        oauthTokenUrl: emulator.tokenUrl,
        oauthAuthorizeUrl: emulator.authorizeUrl,
        webhookToken: config.google.webhookToken || randomBytes(18).toString('base64url'),
      },
    },
    googleUrl: emulator.url,
    account,
    stop: () => emulator.stop(),
  };
}
