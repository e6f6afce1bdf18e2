import 'reflect-metadata';
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { type DynamicModule, Logger, type Type } from '@nestjs/common';
import { startupBanner, writeSandboxExample } from './banner.js';
import { createApp } from './create-app.js';
import { applyHeapGrowth } from './heap-growth.js';
import { databaseRefusal, listenRefusal, systemRefusal } from './start-failures.js';
import { importOptional } from './optional-import.js';
import { type Sandbox, sandboxProviders, startSandbox } from './sandbox.js';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError } from '../config/config.error.js';
import { loadConfigFromProcess, requestedLogFormatFromProcess } from '../config/load-config.js';
import type { EmbeddedDatabase } from '../infrastructure/database/embedded-database.js';
import { ShutdownState } from '../infrastructure/lifecycle/shutdown-state.js';
import { StartupRefusedError } from '../infrastructure/lifecycle/startup-refused.error.js';
import { CalsyncLogger, loggerParams, routeConsoleTo } from '../infrastructure/logging/logging.js';

/** The configured log format, once the configuration is read (before: plain text, nothing else is known). */
let logFormat: 'json' | 'pretty' | undefined;

async function start(extensions: CalsyncOptions['extensions']): Promise<void> {
  let config;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) {
      // The configuration did not load, but the format it asks for (or production's default) is
      // still read, so a log collector gets the refusal as one JSON line too.
      writeSync(2, fatalLine(requestedLogFormatFromProcess(), error.message));
      process.exit(1);
    }
    throw error;
  }
  logFormat = config.logFormat;
  applyHeapGrowth(config.heapGrowingPercent);
  // pino from the first line (LOG_FORMAT, LOG_LEVEL); the app built below writes through the same one.
  const logging = loggerParams(config);
  Logger.overrideLogger(new CalsyncLogger(logging));
  if (config.logFormat === 'json') routeConsoleTo(logging);
  const logger = new Logger('calsync');

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    logger.log(`No DATABASE_URL: starting the embedded PostgreSQL in ${config.dataDir}/postgres`);
    // Loaded only here: the Docker image (and any production install) leaves the embedded database out.
    const { startEmbeddedDatabase } = await importOptional(
      'The embedded PostgreSQL',
      'set DATABASE_URL to your PostgreSQL',
      () => import('../infrastructure/database/embedded-database.js'),
    );
    embedded = await startEmbeddedDatabase({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      log: (line) => logger.warn(line),
      // Stopped by `shutdown` below, once the app has closed.
      stopOnSignals: false,
    });
    databaseUrl = embedded.url;
  }

  let sandbox: Sandbox | undefined;
  if (sandboxProviders(config).length > 0) {
    sandbox = await startSandbox(config, { log: (line) => logger.warn(line) });
    config = sandbox.config;
  }

  let app;
  try {
    app = await createApp(config, databaseUrl, { logging, extensions });
  } catch (error) {
    await sandbox?.stop().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw databaseRefusal(error, databaseUrl, embedded !== undefined) ?? error;
  }
  try {
    await app.listen(config.port, config.host);
  } catch (error) {
    // The workers already run: stopped as on a shutdown, so the next start finds nothing to release.
    await app.close().catch(() => undefined);
    await sandbox?.stop().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw listenRefusal(error, config.port, config.host) ?? error;
  }
  const databaseLabel = embedded
    ? `embedded PostgreSQL on 127.0.0.1:${config.embeddedPostgresPort} (data in ${config.dataDir}/postgres)`
    : new URL(databaseUrl).host;
  const examplePath = sandbox && writeSandboxExample(config, sandbox);
  const banner = startupBanner(config, databaseLabel, sandbox, examplePath);
  if (config.logFormat === 'pretty') {
    process.stdout.write(banner);
  } else {
    // Standard output holds only JSON lines: one line says where the service listens. The banner
    // (sandbox curl lines, development keys) is for a person at a terminal, and goes to one only.
    // Keys generated for development are never logged; the line says where they are kept.
    logger.log(listeningFields(config, databaseLabel, sandbox, examplePath), `calsync is listening on ${config.appUrl}`);
    if (process.stderr.isTTY) process.stderr.write(banner);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: shutting down`);
    // Readiness turns 503 first; then the server stops accepting, in-flight requests and jobs finish.
    app.get(ShutdownState).drain();
    await app.close().catch((error: unknown) => logger.error(String(error)));
    await sandbox?.stop().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

export interface CalsyncOptions {
  /** The team's own Nest modules, loaded beside calsync's ("Extending calsync" in the README). */
  extensions?: Array<Type<unknown> | DynamicModule>;
}

/**
 * Runs the service as `npm start` does: configuration from the environment, the embedded database
 * and sandbox providers in development, signals handled. A team that extends calsync starts it
 * from an entry point of its own: `runCalsync({ extensions: [MyModule] })`.
 */
export function runCalsync(options: CalsyncOptions = {}): Promise<void> {
  return start(options.extensions).catch((error: unknown) => {
    const refusal = error instanceof StartupRefusedError ? error : systemRefusal(error);
    if (refusal) {
      fatal(`calsync cannot start: ${refusal.message}`);
    } else {
      fatal(`calsync failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    process.exit(1);
  });
}

/**
 * The last line before exiting, written synchronously to stderr (nothing buffered is lost on exit):
 * one JSON object like every other line when LOG_FORMAT is json, plain text otherwise.
 */
function fatal(msg: string): void {
  writeSync(2, fatalLine(logFormat, msg));
}

export function fatalLine(format: 'json' | 'pretty' | undefined, msg: string, now = new Date()): string {
  const line = format === 'json' ? JSON.stringify({ level: 'fatal', time: now.toISOString(), service: 'calsync', msg }) : msg;
  return `${line}\n`;
}

/**
 * The fields of the JSON line that says where the service listens: the database, where generated
 * development keys are kept (never the keys), and the sandbox calendars with the example to try
 * (the banner's curl lines go to a terminal only).
 */
export function listeningFields(
  config: Pick<AppConfig, 'appUrl' | 'dataDir' | 'generated'>,
  databaseLabel: string,
  sandbox?: Pick<Sandbox, 'accounts'>,
  examplePath?: string,
): Record<string, unknown> {
  const generated = Object.values(config.generated).some(Boolean);
  return {
    url: config.appUrl,
    database: databaseLabel,
    ...(generated ? { generatedKeysIn: join(config.dataDir, 'dev-secrets.json') } : {}),
    ...(sandbox
      ? {
          sandbox: sandbox.accounts.map((a) => ({ provider: a.provider, url: a.url, account: a.email })),
          ...(examplePath ? { example: examplePath } : {}),
        }
      : {}),
  };
}
