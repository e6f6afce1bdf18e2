import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { startupBanner, writeSandboxExample } from './bootstrap/banner.js';
import { createApp } from './bootstrap/create-app.js';
import { type Sandbox, sandboxProviders, startSandbox } from './bootstrap/sandbox.js';
import { ConfigError } from './config/config.error.js';
import { loadConfigFromProcess } from './config/load-config.js';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './infrastructure/database/embedded-database.js';
import { ShutdownState } from './infrastructure/lifecycle/shutdown-state.js';
import { StartupRefusedError } from './infrastructure/lifecycle/startup-refused.error.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = new Logger('calsync');

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    logger.log(`No DATABASE_URL: starting the embedded PostgreSQL in ${config.dataDir}/postgres`);
    embedded = await startEmbeddedDatabase({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      log: (line) => logger.warn(line),
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
    app = await createApp(config, databaseUrl);
  } catch (error) {
    await sandbox?.stop().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  await app.listen(config.port, config.host);
  const databaseLabel = embedded
    ? `embedded PostgreSQL on 127.0.0.1:${config.embeddedPostgresPort} (data in ${config.dataDir}/postgres)`
    : new URL(databaseUrl).host;
  const examplePath = sandbox && writeSandboxExample(config, sandbox);
  process.stdout.write(startupBanner(config, databaseLabel, sandbox, examplePath));

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

main().catch((error: unknown) => {
  if (error instanceof StartupRefusedError) {
    process.stderr.write(`calsync cannot start: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`calsync failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
