import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig, ProviderName } from '../config/app-config.js';

/**
 * One account of a sandbox provider, with what the copy-paste example (banner.ts) needs to drive it.
 * A second provider (an Outlook account on the Graph emulator) is one more entry of this shape.
 */
export interface SandboxAccount {
  provider: ProviderName;
  /** What people call the provider, e.g. "Google Calendar". */
  label: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  /** When `accessToken` stops working (ISO); the service refreshes it with `refreshToken` after that. */
  accessTokenExpiresAt: string;
  /** The calendar the example makes the destination calendar. */
  calendarId: string;
  /** Every calendar of the account. */
  calendarIds: string[];
  /** Root of the emulator; a GET there answers an index of its control routes. */
  url: string;
  /** Base of the emulator's control routes (no trailing slash). */
  controlBaseUrl: string;
  /** Control route of one event, relative to `controlBaseUrl`, with `{calendarId}` and `{eventId}` in it (ids percent-encoded). */
  eventPath: string;
  /** JSON body of a PATCH on `eventPath` that moves the event, with `{start}` and `{end}` (ISO instants, UTC) in it. */
  moveBody: string;
}

export interface Sandbox {
  config: AppConfig;
  /** Where the sandbox providers keep their state between runs: `DATA_DIR/sandbox`. */
  stateDir: string;
  /** One per sandbox provider, in the order the banner and the example list them. */
  accounts: SandboxAccount[];
  /** The Google emulator's root URL (its API root, and its control routes under `__emulator/`). */
  googleUrl: string;
  /** The sandbox Google account. */
  account: { email: string; accessToken: string; refreshToken: string };
  stop(): Promise<void>;
}

export interface SandboxOptions {
  /** Port of the Google emulator; by default the one of the previous run (kept in the state directory) when it is free. */
  port?: number;
  log?: (line: string) => void;
}

export const SANDBOX_EMAIL = 'demo@sandbox.calsync.local';
export const SANDBOX_TEAM_CALENDAR = 'team@sandbox.calsync.local';
/** Fixed, so a credential stored in an earlier run keeps working against a restarted sandbox. */
export const SANDBOX_REFRESH_TOKEN = 'sandbox-refresh-token';
const ACCESS_TOKEN_TTL_SECONDS = 3600;

/** What the sandbox remembers besides the emulators' own state: `DATA_DIR/sandbox/sandbox.json`. */
interface SandboxSettings {
  googlePort?: number;
  /** Channels carry the token they were opened with; a new one each run would make every stored channel's pushes 403. */
  googleWebhookToken?: string;
}

/**
 * Without real Google credentials the service serves the Google emulator on loopback and talks to it
 * exactly as it would to Google, so the whole loop can be tried by hand. Its state (accounts, calendars,
 * events, channels, sync tokens) is kept in `DATA_DIR/sandbox/google.json`, next to the embedded database
 * that refers to it: after a restart the stored channels still push and the stored sync tokens still work.
 */
export async function startSandbox(config: AppConfig, options: SandboxOptions | number = {}): Promise<Sandbox> {
  const opts: SandboxOptions = typeof options === 'number' ? { port: options } : options;
  const stateDir = join(config.dataDir, 'sandbox');
  mkdirSync(stateDir, { recursive: true });
  const settings = readSettings(stateDir);
  const webhookToken = config.google.webhookToken || settings.googleWebhookToken || randomBytes(18).toString('base64url');
  if (!config.google.webhookToken) settings.googleWebhookToken = webhookToken;

  // Loaded lazily: production images never touch the emulator code.
  const { GoogleCalendarEmulator } = await import('../../emulators/google/google-calendar.emulator.js');
  const start = (port: number) =>
    GoogleCalendarEmulator.start({
      port,
      stateFile: join(stateDir, 'google.json'),
      accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS,
    });
  let emulator: Awaited<ReturnType<typeof start>>;
  const preferred = opts.port ?? settings.googlePort ?? 0;
  try {
    emulator = await start(preferred);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || opts.port !== undefined) throw error;
    opts.log?.(`Sandbox Google Calendar: port ${preferred} of the previous run is taken, using another one`);
    emulator = await start(0);
  }
  settings.googlePort = Number(new URL(emulator.url).port);
  writeSettings(stateDir, settings);

  // Known accounts and calendars come back from the state file; this only adds what is missing.
  const account = emulator.addAccount({ email: SANDBOX_EMAIL, refreshToken: SANDBOX_REFRESH_TOKEN });
  const expiresAt = new Date(Date.now() + ACCESS_TOKEN_TTL_SECONDS * 1000).toISOString();
  if (!emulator.listCalendars().some((c) => c.id === SANDBOX_TEAM_CALENDAR)) {
    emulator.addCalendar(SANDBOX_EMAIL, { id: SANDBOX_TEAM_CALENDAR, summary: 'Team calendar' });
  }
  const google: SandboxAccount = {
    provider: 'google_calendar',
    label: 'Google Calendar',
    email: account.email,
    accessToken: account.accessToken,
    refreshToken: account.refreshToken,
    accessTokenExpiresAt: expiresAt,
    calendarId: SANDBOX_EMAIL,
    calendarIds: emulator
      .listCalendars()
      .filter((c) => c.ownerEmail === SANDBOX_EMAIL)
      .map((c) => c.id),
    url: emulator.url,
    controlBaseUrl: `${emulator.url}__emulator`,
    eventPath: '/calendars/{calendarId}/events/{eventId}',
    moveBody: '{"start":{"dateTime":"{start}"},"end":{"dateTime":"{end}"}}',
  };
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
        webhookToken,
      },
    },
    stateDir,
    accounts: [google],
    googleUrl: emulator.url,
    account,
    stop: () => emulator.stop(),
  };
}

function readSettings(stateDir: string): SandboxSettings {
  try {
    const parsed = JSON.parse(readFileSync(join(stateDir, 'sandbox.json'), 'utf8')) as SandboxSettings;
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

function writeSettings(stateDir: string, settings: SandboxSettings): void {
  writeFileSync(join(stateDir, 'sandbox.json'), `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
}
