import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GoogleCalendarEmulator } from '../../emulators/google/google-calendar.emulator.js';
import type { MicrosoftGraphEmulator } from '../../emulators/microsoft/microsoft-graph.emulator.js';
import type { AppConfig, ProviderName } from '../config/app-config.js';
import { importOptional } from './optional-import.js';

/**
 * One account of a sandbox provider, with what the copy-paste example (banner.ts) needs to drive it.
 * Every sandbox provider is one entry of this shape; the example has no provider-specific code.
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
  /** PEM file curl must trust (`--cacert`) to reach an HTTPS emulator with a self-signed CA; absent for plain HTTP. */
  caFile?: string;
  /** Control route listing a calendar's events (creation order), relative to `controlBaseUrl`, with `{calendarId}` (percent-encoded). */
  eventsPath: string;
  /** Control route of one event, relative to `controlBaseUrl`, with `{calendarId}` and/or `{eventId}` in it (ids percent-encoded). */
  eventPath: string;
  /** JSON body of a PATCH on `eventPath` that moves the event, with `{start}` and `{end}` (ISO instants, UTC) in it. */
  moveBody: string;
  /** The fields of the provider's event JSON worth showing: title, times, attendees. */
  eventFields: string[];
}

export interface SandboxGoogle {
  emulator: GoogleCalendarEmulator;
  /** The emulator's root URL, with a trailing slash (its API root, and its control routes under `__emulator/`). */
  url: string;
  account: SandboxAccount;
}

export interface SandboxMicrosoft {
  emulator: MicrosoftGraphEmulator;
  /** The emulator's root URL (`https://127.0.0.1:PORT`, no trailing slash); control routes under `/__emulator`. */
  url: string;
  /** `DATA_DIR/sandbox/microsoft-ca.pem`: the CA of the emulator's self-signed certificate (kept across runs). */
  caFile: string;
  caCertificate: string;
  account: SandboxAccount;
}

export interface Sandbox {
  config: AppConfig;
  /** Where the sandbox providers keep their state between runs: `DATA_DIR/sandbox`. */
  stateDir: string;
  /** One per sandbox provider, in the order the banner and the example list them. */
  accounts: SandboxAccount[];
  /** The sandbox Google Calendar, unless real Google credentials are configured. */
  google?: SandboxGoogle;
  /** The sandbox Outlook (Microsoft Graph), unless real Microsoft credentials are configured. */
  microsoft?: SandboxMicrosoft;
  stop(): Promise<void>;
}

export interface SandboxOptions {
  /** Port of the Google emulator; by default the one of the previous run (kept in the state directory) when it is free. */
  port?: number;
  /** Port of the Microsoft Graph emulator; the same default. */
  microsoftPort?: number;
  log?: (line: string) => void;
}

export const SANDBOX_EMAIL = 'demo@sandbox.calsync.local';
export const SANDBOX_TEAM_CALENDAR = 'team@sandbox.calsync.local';
/** Fixed, so a credential stored in an earlier run keeps working against a restarted sandbox. */
export const SANDBOX_REFRESH_TOKEN = 'sandbox-refresh-token';
export const SANDBOX_OUTLOOK_EMAIL = 'demo@sandbox-outlook.calsync.local';
/** Graph gives calendars opaque ids; the second one is found again by its name. */
export const SANDBOX_OUTLOOK_TEAM_CALENDAR_NAME = 'Team calendar';
/** Fixed for the same reason as the Google one (the emulator keeps accepting it after it rotates refresh tokens). */
export const SANDBOX_OUTLOOK_REFRESH_TOKEN = 'sandbox-outlook-refresh-token';
export const SANDBOX_MICROSOFT_CA_FILE = 'microsoft-ca.pem';
const ACCESS_TOKEN_TTL_SECONDS = 3600;

/** What the sandbox remembers besides the emulators' own state: `DATA_DIR/sandbox/sandbox.json`. */
interface SandboxSettings {
  googlePort?: number;
  /** Channels carry the token they were opened with; a new one each run would make every stored channel's pushes 403. */
  googleWebhookToken?: string;
  /** Stored deltaLinks are absolute URLs of the emulator: the same port keeps them valid. */
  microsoftPort?: number;
  /** The clientState every stored subscription's notifications carry, for the same reason as the Google token. */
  microsoftWebhookToken?: string;
}

/** The providers a sandbox stands in for: each one without real credentials (when `SANDBOX` is on). */
export function sandboxProviders(config: AppConfig): ProviderName[] {
  if (!config.sandbox) return [];
  const providers: ProviderName[] = [];
  if (!config.google.enabled) providers.push('google_calendar');
  if (!config.microsoft.enabled) providers.push('office365_calendar');
  return providers;
}

/**
 * For each provider without real credentials the service serves that provider's emulator on loopback and
 * talks to it exactly as it would to the real thing, so the whole loop can be tried by hand: the Google
 * Calendar emulator (HTTP) and the Microsoft Graph emulator (HTTPS, with its own CA, trusted through
 * `config.microsoft.caCertificate`). Their state (accounts, calendars, events, channels or subscriptions,
 * sync tokens or deltaLinks) is kept in `DATA_DIR/sandbox/google.json` and `microsoft.json`, next to the
 * embedded database that refers to it: after a restart the stored channels still push and the stored
 * cursors still work. Ports and web-hook secrets are kept in `sandbox.json` for the same reason.
 */
export async function startSandbox(config: AppConfig, options: SandboxOptions | number = {}): Promise<Sandbox> {
  const opts: SandboxOptions = typeof options === 'number' ? { port: options } : options;
  const stateDir = join(config.dataDir, 'sandbox');
  mkdirSync(stateDir, { recursive: true });
  const settings = readSettings(stateDir);
  const providers = sandboxProviders({ ...config, sandbox: true });

  let google: SandboxGoogle | undefined;
  let microsoft: SandboxMicrosoft | undefined;
  try {
    if (providers.includes('google_calendar')) google = await startGoogle(stateDir, settings, opts);
    if (providers.includes('office365_calendar')) microsoft = await startMicrosoft(stateDir, settings, opts);
  } catch (error) {
    await google?.emulator.stop().catch(() => undefined);
    throw error;
  }

  const googleWebhookToken = config.google.webhookToken || settings.googleWebhookToken || randomToken();
  if (google && !config.google.webhookToken) settings.googleWebhookToken = googleWebhookToken;
  const microsoftWebhookToken = config.microsoft.webhookToken || settings.microsoftWebhookToken || randomToken();
  if (microsoft && !config.microsoft.webhookToken) settings.microsoftWebhookToken = microsoftWebhookToken;
  writeSettings(stateDir, settings);

  let sandboxConfig = config;
  if (google) {
    const emulator = google.emulator;
    sandboxConfig = {
      ...sandboxConfig,
      google: {
        ...sandboxConfig.google,
        enabled: true,
        clientId: 'calsync-sandbox',
        clientSecret: 'calsync-sandbox-secret',
        apiRootUrl: emulator.url,
        oauthTokenUrl: emulator.tokenUrl,
        oauthAuthorizeUrl: emulator.authorizeUrl,
        webhookToken: googleWebhookToken,
      },
    };
  }
  if (microsoft) {
    const emulator = microsoft.emulator;
    sandboxConfig = {
      ...sandboxConfig,
      microsoft: {
        ...sandboxConfig.microsoft,
        enabled: true,
        clientId: 'calsync-sandbox',
        clientSecret: 'calsync-sandbox-secret',
        graphBaseUrl: emulator.url,
        tokenUrl: emulator.tokenUrl,
        oauthAuthorizeUrl: emulator.authorizeUrl,
        webhookToken: microsoftWebhookToken,
        caCertificate: emulator.caCertificate,
      },
    };
  }

  const accounts = [google?.account, microsoft?.account].filter((a): a is SandboxAccount => a !== undefined);
  return {
    config: sandboxConfig,
    stateDir,
    accounts,
    google,
    microsoft,
    stop: async () => {
      await Promise.all([google?.emulator.stop(), microsoft?.emulator.stop()]);
    },
  };
}

async function startGoogle(stateDir: string, settings: SandboxSettings, opts: SandboxOptions): Promise<SandboxGoogle> {
  // Loaded lazily: production images never touch the emulator code.
  const { GoogleCalendarEmulator } = await importOptional(
    'The Google Calendar sandbox',
    "set SANDBOX=false (a provider without credentials is then left out), or give Google's credentials (GOOGLE_CLIENT_ID and the rest)",
    () => import('../../emulators/google/google-calendar.emulator.js'),
  );
  const emulator = await onStablePort(
    'Google Calendar',
    opts.port,
    settings.googlePort,
    (port) =>
      GoogleCalendarEmulator.start({
        port,
        stateFile: join(stateDir, 'google.json'),
        accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS,
      }),
    opts.log,
  );
  settings.googlePort = Number(new URL(emulator.url).port);

  // Known accounts and calendars come back from the state file; this only adds what is missing.
  const account = emulator.addAccount({ email: SANDBOX_EMAIL, refreshToken: SANDBOX_REFRESH_TOKEN });
  if (!emulator.listCalendars().some((c) => c.id === SANDBOX_TEAM_CALENDAR)) {
    emulator.addCalendar(SANDBOX_EMAIL, { id: SANDBOX_TEAM_CALENDAR, summary: 'Team calendar' });
  }
  return {
    emulator,
    url: emulator.url,
    account: {
      provider: 'google_calendar',
      label: 'Google Calendar',
      email: account.email,
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
      accessTokenExpiresAt: expiresAt(),
      calendarId: SANDBOX_EMAIL,
      calendarIds: emulator
        .listCalendars()
        .filter((c) => c.ownerEmail === SANDBOX_EMAIL)
        .map((c) => c.id),
      url: emulator.url,
      controlBaseUrl: `${emulator.url}__emulator`,
      eventsPath: '/calendars/{calendarId}/events',
      eventPath: '/calendars/{calendarId}/events/{eventId}',
      moveBody: '{"start":{"dateTime":"{start}"},"end":{"dateTime":"{end}"}}',
      eventFields: ['summary', 'start', 'end', 'attendees'],
    },
  };
}

async function startMicrosoft(stateDir: string, settings: SandboxSettings, opts: SandboxOptions): Promise<SandboxMicrosoft> {
  const { MicrosoftGraphEmulator } = await importOptional(
    'The Outlook sandbox',
    "set SANDBOX=false (a provider without credentials is then left out), or give Microsoft's credentials (MICROSOFT_CLIENT_ID and the rest)",
    () => import('../../emulators/microsoft/microsoft-graph.emulator.js'),
  );
  const emulator = await onStablePort(
    'Outlook',
    opts.microsoftPort,
    settings.microsoftPort,
    (port) =>
      MicrosoftGraphEmulator.start({
        port,
        stateFile: join(stateDir, 'microsoft.json'),
        accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS,
      }),
    opts.log,
  );
  settings.microsoftPort = Number(new URL(emulator.url).port);

  // The CA comes back from the state file too, so this file (and any copy of it) stays valid across runs.
  const caFile = join(stateDir, SANDBOX_MICROSOFT_CA_FILE);
  writeFileSync(caFile, emulator.caCertificate);

  const account = emulator.addAccount({ email: SANDBOX_OUTLOOK_EMAIL, refreshToken: SANDBOX_OUTLOOK_REFRESH_TOKEN });
  if (!emulator.calendars(SANDBOX_OUTLOOK_EMAIL).some((c) => c.name === SANDBOX_OUTLOOK_TEAM_CALENDAR_NAME)) {
    emulator.addCalendar(SANDBOX_OUTLOOK_EMAIL, { name: SANDBOX_OUTLOOK_TEAM_CALENDAR_NAME });
  }
  const calendars = emulator.calendars(SANDBOX_OUTLOOK_EMAIL);
  return {
    emulator,
    url: emulator.url,
    caFile,
    caCertificate: emulator.caCertificate,
    account: {
      provider: 'office365_calendar',
      label: 'Outlook Calendar',
      email: account.email,
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
      accessTokenExpiresAt: expiresAt(),
      calendarId: account.calendarId,
      // The default calendar first.
      calendarIds: [...calendars.filter((c) => c.isDefaultCalendar), ...calendars.filter((c) => !c.isDefaultCalendar)].map(
        (c) => c.id,
      ),
      url: emulator.url,
      controlBaseUrl: `${emulator.url}/__emulator`,
      caFile,
      eventsPath: '/calendars/{calendarId}/events',
      // Graph event ids are unique across the mailbox: the control route has no calendar in it.
      eventPath: '/events/{eventId}',
      moveBody: '{"start":{"dateTime":"{start}","timeZone":"UTC"},"end":{"dateTime":"{end}","timeZone":"UTC"}}',
      eventFields: ['subject', 'start', 'end', 'attendees'],
    },
  };
}

/**
 * Starts an emulator on the port asked for, else on the port of the previous run (stored channels and
 * cursors name it), else anywhere; a remembered port that is taken now is given up with a warning.
 */
async function onStablePort<T>(
  label: string,
  asked: number | undefined,
  remembered: number | undefined,
  start: (port: number) => Promise<T>,
  log?: (line: string) => void,
): Promise<T> {
  const preferred = asked ?? remembered ?? 0;
  try {
    return await start(preferred);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || asked !== undefined) throw error;
    log?.(`Sandbox ${label}: port ${preferred} of the previous run is taken, using another one`);
    return start(0);
  }
}

const expiresAt = () => new Date(Date.now() + ACCESS_TOKEN_TTL_SECONDS * 1000).toISOString();
const randomToken = () => randomBytes(18).toString('base64url');

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
