import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import request from 'supertest';
import { createApp } from '../../src/bootstrap/create-app.js';
import type { AppModuleOptions } from '../../src/app.module.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { GoogleCalendarEmulator } from '../../emulators/google/google-calendar.emulator.js';
import { MicrosoftGraphEmulator } from '../../emulators/microsoft/microsoft-graph.emulator.js';
import { type TestDatabase, createTestDatabase } from './test-database.js';
import { freePort } from '../../emulators/free-port.js';
import type { LogOutput } from '../../src/infrastructure/logging/logging.js';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  dataSource: DataSource;
  baseUrl: string;
  http: ReturnType<typeof request>;
  /** Supertest request with the app key already set. */
  api: ApiClient;
  admin: ApiClient;
  google: GoogleCalendarEmulator;
  /** The Graph emulator, when the app was created with `microsoft` (otherwise Outlook is not enabled). */
  microsoft: MicrosoftGraphEmulator;
  /** Stops the app; the database stays (for restart tests) until `close`. */
  stop(): Promise<void>;
  /** Starts the app again on the same database and port, as after a crash. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type ApiClient = Record<Method, (path: string) => request.Test>;

export const TEST_WEBHOOK_TOKEN = 'test-google-channel-token';
export const TEST_MICROSOFT_CLIENT_STATE = 'test-graph-client-state';

/**
 * Boots the real application (same `createApp`/`configureApp` as main.ts) on a fresh copy of the
 * migrated template database, with the googleapis client pointed at a Google emulator.
 */
export async function createTestApp(
  options: {
    env?: Record<string, string>;
    google?: GoogleCalendarEmulator;
    /** Enable Outlook against a Graph emulator (this one, or a new one). */
    microsoft?: boolean | MicrosoftGraphEmulator;
    /**
     * Where the app's log lines go (standard output otherwise). Request lines go to each app's own;
     * Nest `Logger` lines go through nestjs-pino's one root logger of the process, made by the first
     * app: only a test file's first app captures those.
     */
    logOutput?: LogOutput;
    /** Extension modules to load beside calsync's (e.g. the audit-trail example). */
    extensions?: AppModuleOptions['extensions'];
  } = {},
): Promise<TestApp> {
  const google = options.google ?? (await GoogleCalendarEmulator.start());
  const ownsEmulator = !options.google;
  const microsoft =
    options.microsoft instanceof MicrosoftGraphEmulator
      ? options.microsoft
      : options.microsoft
        ? await MicrosoftGraphEmulator.start()
        : null;
  const ownsMicrosoft = microsoft !== null && !(options.microsoft instanceof MicrosoftGraphEmulator);
  const microsoftEnv: Record<string, string> = microsoft
    ? {
        MICROSOFT_CLIENT_ID: 'calsync-test-client',
        MICROSOFT_CLIENT_SECRET: 'calsync-test-secret',
        MICROSOFT_GRAPH_BASE_URL: microsoft.url,
        MICROSOFT_TOKEN_URL: microsoft.tokenUrl,
        MICROSOFT_OAUTH_AUTHORIZE_URL: microsoft.authorizeUrl,
        MICROSOFT_WEBHOOK_TOKEN: TEST_MICROSOFT_CLIENT_STATE,
      }
    : {};
  const db = await createTestDatabase();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      PORT: String(port),
      APP_URL: baseUrl,
      DATABASE_URL: db.url,
      API_KEY: 'test-api-key-0123456789',
      ADMIN_API_KEY: 'test-admin-key-0123456789',
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      GOOGLE_CLIENT_ID: 'calsync-test-client',
      GOOGLE_CLIENT_SECRET: 'calsync-test-secret',
      GOOGLE_API_ROOT_URL: google.url,
      GOOGLE_OAUTH_TOKEN_URL: google.tokenUrl,
      GOOGLE_OAUTH_AUTHORIZE_URL: google.authorizeUrl,
      GOOGLE_WEBHOOK_TOKEN: TEST_WEBHOOK_TOKEN,
      SCHEDULER_ENABLED: 'false',
      // Two test workers (and the chaos test's two instances) share one PostgreSQL's connections.
      DATABASE_POOL_SIZE: '10',
      QUEUE_POLL_INTERVAL_MS: '200',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
      ...microsoftEnv,
      ...options.env,
    },
    { persistGeneratedSecrets: false },
  );
  // The Graph emulator's certificate is self-signed: trust it for Graph calls only.
  if (microsoft) config.microsoft.caCertificate = microsoft.caCertificate;

  let app: NestFastifyApplication;
  try {
    app = await start(config, db.url, options);
  } catch (error) {
    await db.drop().catch(() => undefined);
    if (ownsEmulator) await google.stop();
    if (ownsMicrosoft) await microsoft?.stop();
    throw error;
  }
  const client = (key: string): ApiClient => {
    const make = (method: Method) => (path: string) =>
      request(app.getHttpServer())[method](path).set('Authorization', `Bearer ${key}`);
    return { get: make('get'), post: make('post'), put: make('put'), patch: make('patch'), delete: make('delete') };
  };
  let running = true;
  const testApp: TestApp = {
    app,
    config,
    db,
    get dataSource() {
      return app.get(DataSource);
    },
    baseUrl,
    get http() {
      return request(app.getHttpServer());
    },
    api: client(config.apiKey),
    admin: client(config.adminApiKey),
    google,
    get microsoft(): MicrosoftGraphEmulator {
      if (!microsoft) throw new Error('createTestApp({ microsoft: true }) enables Outlook');
      return microsoft;
    },
    async stop() {
      if (!running) return;
      running = false;
      await app.close();
    },
    async restart() {
      await testApp.stop();
      app = await start(config, db.url, options);
      testApp.app = app;
      running = true;
    },
    async close() {
      await testApp.stop();
      await db.drop();
      if (ownsEmulator) await google.stop();
      if (ownsMicrosoft) await microsoft?.stop();
    },
  };
  return testApp;
}

async function start(
  config: AppConfig,
  url: string,
  { logOutput, extensions }: { logOutput?: LogOutput; extensions?: AppModuleOptions['extensions'] },
): Promise<NestFastifyApplication> {
  const app = await createApp(config, url, { logOutput, extensions });
  await app.listen(config.port, '127.0.0.1');
  return app;
}
