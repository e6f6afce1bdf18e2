import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/bootstrap/create-app.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { startEmbeddedDatabase } from '../../src/infrastructure/database/embedded-database.js';
import { GoogleCalendarEmulator } from '../../emulators/google/google-calendar.emulator.js';
import { MicrosoftGraphEmulator } from '../../emulators/microsoft/microsoft-graph.emulator.js';
import { freePort } from '../../emulators/free-port.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface BenchDatabase {
  url: string;
  kind: 'embedded' | 'DATABASE_URL';
  stop(): Promise<void>;
}

/** DATABASE_URL when set; otherwise a fresh embedded PostgreSQL in a temp dir, removed by `stop`. */
export async function openDatabase(log: (line: string) => void): Promise<BenchDatabase> {
  const external = process.env.DATABASE_URL;
  if (external) return { url: external, kind: 'DATABASE_URL', stop: async () => undefined };
  const dataDir = mkdtempSync(join(tmpdir(), 'calsync-bench-'));
  try {
    const database = await startEmbeddedDatabase({ dataDir, port: await freePort(), database: 'calsync_bench', log });
    let stopped = false;
    return {
      url: database.url,
      kind: 'embedded',
      stop: async () => {
        if (stopped) return;
        stopped = true;
        try {
          await database.stop();
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

/**
 * The real application (same createApp/configureApp as main.ts) on 127.0.0.1, production settings
 * and warn-level logging, with its googleapis client pointed at an in-process Google emulator and
 * Outlook enabled against an in-process Microsoft Graph emulator (HTTPS with its own CA, which the
 * Graph adapter trusts through `config.microsoft.caCertificate`, as in the tests).
 * The scheduler is off so only what a bench triggers runs; the queue keeps its default poll
 * interval, so job pick-up is LISTEN/NOTIFY's.
 */
export interface BenchApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** The Google Calendar emulator. */
  emulator: GoogleCalendarEmulator;
  /** The Microsoft Graph emulator (Outlook). */
  microsoft: MicrosoftGraphEmulator;
  baseUrl: string;
  dataSource: DataSource;
  /** The variables the app was configured with (a replica starts from the same ones). */
  settings: Readonly<Record<string, string>>;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/**
 * With `replicaOf`, a second instance of the application on the same database: the same settings
 * (keys, webhook tokens, the same two emulators) on its own port, as a second replica behind a
 * load balancer would run. Closing a replica leaves the emulators to the first instance.
 */
export async function startBenchApp(databaseUrl: string, options: { replicaOf?: BenchApp } = {}): Promise<BenchApp> {
  const { replicaOf } = options;
  const emulator = replicaOf?.emulator ?? (await GoogleCalendarEmulator.start({ host: '127.0.0.1' }));
  let microsoft: MicrosoftGraphEmulator;
  try {
    microsoft = replicaOf?.microsoft ?? (await MicrosoftGraphEmulator.start({ host: '127.0.0.1' }));
  } catch (error) {
    await emulator.stop();
    throw error;
  }
  const stopEmulators = async () => {
    if (!replicaOf) await Promise.all([emulator.stop(), microsoft.stop()]);
  };
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let app: NestFastifyApplication | undefined;
  try {
    const settings: Record<string, string> = replicaOf
      ? { ...replicaOf.settings, PORT: String(port), APP_URL: baseUrl }
      : {
          NODE_ENV: 'production',
          DATABASE_URL: databaseUrl,
          METRICS_AUTH: 'none',
          PORT: String(port),
          HOST: '127.0.0.1',
          APP_URL: baseUrl,
          API_KEY: `bench-api-${randomBytes(16).toString('hex')}`,
          ADMIN_API_KEY: `bench-admin-${randomBytes(16).toString('hex')}`,
          ENCRYPTION_KEY: randomBytes(32).toString('hex'),
          GOOGLE_CLIENT_ID: 'calsync-bench-client',
          GOOGLE_CLIENT_SECRET: 'calsync-bench-secret',
          GOOGLE_API_ROOT_URL: emulator.url,
          GOOGLE_OAUTH_TOKEN_URL: emulator.tokenUrl,
          GOOGLE_OAUTH_AUTHORIZE_URL: emulator.authorizeUrl,
          GOOGLE_WEBHOOK_TOKEN: `bench-channel-${randomBytes(12).toString('hex')}`,
          MICROSOFT_CLIENT_ID: 'calsync-bench-client',
          MICROSOFT_CLIENT_SECRET: 'calsync-bench-secret',
          MICROSOFT_GRAPH_BASE_URL: microsoft.url,
          MICROSOFT_TOKEN_URL: microsoft.tokenUrl,
          MICROSOFT_OAUTH_AUTHORIZE_URL: microsoft.authorizeUrl,
          MICROSOFT_WEBHOOK_TOKEN: `bench-client-state-${randomBytes(12).toString('hex')}`,
          SCHEDULER_ENABLED: 'false',
          LOG_LEVEL: 'warn',
          // The scale bench runs admin tasks over 6,000 calendars through the admin route; with the
          // default 30 s the route would answer 503 while the task goes on.
          REQUEST_TIMEOUT_MS: '600000',
        };
    const config = loadConfig(settings, { persistGeneratedSecrets: false });
    // The Graph emulator's certificate is signed by its own CA: trusted for Graph calls only.
    config.microsoft.caCertificate = microsoft.caCertificate;
    app = await createApp(config, databaseUrl);
    await app.listen(port, '127.0.0.1');
    const started = app;
    const call = (key: string) => apiCaller(baseUrl, key);
    let closed = false;
    return {
      app: started,
      config,
      emulator,
      microsoft,
      baseUrl,
      dataSource: started.get(DataSource),
      settings,
      api: call(config.apiKey),
      admin: call(config.adminApiKey),
      async close() {
        if (closed) return;
        closed = true;
        try {
          await started.close();
        } finally {
          await stopEmulators();
        }
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await stopEmulators();
    throw error;
  }
}

/** Calls `baseUrl` with the bearer `key`, JSON in and out (the text when the answer is not JSON). */
export function apiCaller(baseUrl: string, key: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T };
  };
}

/** Throws with the response when the status is not the expected one (set-up steps must not fail quietly). */
export function expectStatus<T>(res: ApiResponse<T>, expected: number, what: string): T {
  if (res.status !== expected) {
    throw new Error(`${what}: expected HTTP ${expected}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body;
}
