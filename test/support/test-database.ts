import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/infrastructure/database/data-source-options.js';
import { migrateDatabase } from '../../src/infrastructure/database/migrate.js';

/** Named by global-setup, one per run (see TEMPLATE_DATABASE there). */
const TEMPLATE = process.env.CALSYNC_TEST_TEMPLATE ?? 'calsync_test_template';

function serverUrl(): string {
  const url = process.env.TEST_DATABASE_SERVER_URL;
  if (!url) throw new Error('TEST_DATABASE_SERVER_URL is not set: run the tests through jest (global-setup starts PostgreSQL)');
  return url;
}

export function databaseUrl(name: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Tests only ever touch databases whose name says so; a stray DATABASE_URL cannot wipe real data. */
function assertTestName(name: string): void {
  if (!name.includes('test')) throw new Error(`Refusing to use database "${name}": its name does not contain "test"`);
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const TEMPLATE_LOCK = 7_310_009_999;

/**
 * The template is migrated once per run (global-setup dropped the last run's), by whichever test
 * file gets here first; the others wait on an advisory lock. Each test file then copies a ready
 * database in milliseconds.
 */
async function ensureTemplate(): Promise<void> {
  await withAdmin(async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE]);
      if (exists.rowCount) return;
      await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE}_building WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${TEMPLATE}_building`);
      const url = databaseUrl(`${TEMPLATE}_building`);
      const dataSource = await new DataSource(buildDataSourceOptions(url, { poolSize: 2 })).initialize();
      try {
        await migrateDatabase(dataSource, url);
      } finally {
        await dataSource.destroy();
      }
      await client.query(`ALTER DATABASE ${TEMPLATE}_building RENAME TO ${TEMPLATE}`);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  await ensureTemplate();
  const name = `calsync_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  assertTestName(name);
  await withAdmin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
        return;
      } catch (error) {
        // Another worker copying the template at the same moment: PostgreSQL allows one copy at a time.
        if (attempt >= 20 || !String((error as Error).message).includes('is being accessed by other users')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  });
  return {
    name,
    url: databaseUrl(name),
    drop: () =>
      withAdmin(async (client) => {
        assertTestName(name);
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}
