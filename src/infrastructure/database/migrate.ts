import { Logger, runMigrations as runQueueMigrations } from 'graphile-worker';
import pg from 'pg';
import { DataSource } from 'typeorm';

/** Any fixed number works; it only has to be the same for every instance of calsync. */
const MIGRATION_LOCK_KEY = 7_310_000_001;

/**
 * Applies pending schema migrations, then the job queue's own schema. Two instances starting at
 * once serialise on an advisory lock, so the second finds nothing left to do.
 */
export async function migrateDatabase(dataSource: DataSource, databaseUrl: string): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'each' });
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    try {
      await runQueueMigrations({ pgPool: pool, logger: silentQueueLogger() });
    } finally {
      await pool.end();
    }
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}

function silentQueueLogger() {
  // graphile-worker logs migrations at info level; start-up prints its own summary.
  return new Logger(() => () => undefined);
}
