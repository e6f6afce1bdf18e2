import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/infrastructure/database/data-source-options.js';
import { migrateDatabase } from '../../src/infrastructure/database/migrate.js';
import { prepareTemplateDatabase } from './test-database.js';
import { startTestPostgres } from './test-postgres.js';

/**
 * Runs once before all test files: makes sure a PostgreSQL server is there (DATABASE_URL's, or an
 * embedded one) and migrates the template every test database is copied from.
 */
export default async function globalSetup(): Promise<void> {
  await startTestPostgres();
  await prepareTemplateDatabase(async (url) => {
    const dataSource = await new DataSource(buildDataSourceOptions(url, { poolSize: 2 })).initialize();
    try {
      await migrateDatabase(dataSource, url);
    } finally {
      await dataSource.destroy();
    }
  });
}
