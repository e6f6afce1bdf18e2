/**
 * The service under test as its own OS process on a database of its own, set up the same way for
 * every bench that measures it so (`scale`, `full-sync`, `outlook-full-sync`): `node
 * dist/src/main.js` (see `ServiceProcess`), configured only through its environment, the run's
 * settings (keys, webhook tokens, the runner's emulators' URLs) with its own port and database, and
 * `NODE_EXTRA_CA_CERTS` holding the Graph emulator's CA (the service has no setting of its own for
 * a CA, and needs none in production). The database is created on the run's PostgreSQL server
 * (DATABASE_URL or the embedded one; CREATEDB needed), migrated by the service at its start and
 * dropped by `close`. So the runner's in-process app, on the run's database, never sees the
 * service's jobs: all the work is the service process's. The emulators stay in the runner.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { freePort } from '../../emulators/free-port.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { type BenchApp, apiCaller } from './bench-env.js';
import { type OwnDatabase, ServiceProcess, benchDataSource, createOwnDatabase } from './service-process.js';

export interface OwnService {
  service: ServiceProcess;
  database: OwnDatabase;
  /** The service's configuration, as it loads it from `settings`. */
  config: AppConfig;
  /** The service's environment (a replica starts from the same one). */
  settings: Readonly<Record<string, string>>;
  /** The bench's own connection to the service's database (set-up, checks, waits), not the service's. */
  dataSource: DataSource;
  /** Spawn to `/health/ready`, migrations included, in ms. */
  readyMs: number;
  /**
   * What the hosts helpers (`support/hosts.ts`) work with: the runner's emulators, the service's
   * API with its keys, and the bench's connection to the service's database.
   */
  client: Pick<BenchApp, 'emulator' | 'microsoft' | 'api' | 'admin' | 'dataSource'>;
  /** Stops the service, closes the bench's connection, drops the database, removes the CA file. */
  close(): Promise<void>;
}

export interface OwnServiceOptions {
  /** The process's name in messages. */
  name: string;
  /** The database is `<prefix>_<random hex>`. */
  databasePrefix: string;
  /** Where the service's output goes (appended; the caller clears it if it wants a fresh one). */
  logFile: string;
  /** Node flags before the entry point (diagnostics only: production runs none). */
  nodeArgs?: readonly string[];
  /** Checks the service's configuration before it is started (throws to give up). */
  checkConfig?(config: AppConfig): void;
  /** Told when the database could not be dropped at the end (the bench's figures stand). */
  onDropError?(message: string): void;
}

/** Creates the database, starts the service on it and waits until it is ready; cleans up what it made if any step fails. */
export async function startOwnService(env: BenchApp, options: OwnServiceOptions): Promise<OwnService> {
  const database = await createOwnDatabase(env.settings.DATABASE_URL, options.databasePrefix);
  const workDir = mkdtempSync(join(tmpdir(), `${options.databasePrefix.replace(/_/g, '-')}-`));
  let service: ServiceProcess | undefined;
  let dataSource: DataSource | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await service?.stop();
      await dataSource?.destroy().catch(() => undefined);
      await database.drop().catch((error: unknown) => {
        const message = `dropping the database ${database.name} failed: ${String(error)}`;
        if (options.onDropError) options.onDropError(message);
        else throw new Error(message);
      });
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  };
  try {
    // The service trusts the Graph emulator's CA the way any Node process can: NODE_EXTRA_CA_CERTS, read at its start.
    const caFile = join(workDir, 'graph-emulator-ca.pem');
    writeFileSync(caFile, env.microsoft.caCertificate);
    const port = await freePort();
    const settings: Record<string, string> = {
      ...env.settings,
      DATABASE_URL: database.url,
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      NODE_EXTRA_CA_CERTS: caFile,
    };
    const config = loadConfig(settings, { persistGeneratedSecrets: false });
    options.checkConfig?.(config);
    service = new ServiceProcess(options.name, port, settings, options.logFile, options.nodeArgs);
    const readyMs = await service.start();
    dataSource = await benchDataSource(database.url);
    return {
      service,
      database,
      config,
      settings,
      dataSource,
      readyMs,
      client: {
        emulator: env.emulator,
        microsoft: env.microsoft,
        api: apiCaller(service.url, config.apiKey),
        admin: apiCaller(service.url, config.adminApiKey),
        dataSource,
      },
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
