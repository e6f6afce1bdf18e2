import { DataSource } from 'typeorm';
import { loadDatabaseUrl } from './src/config/load-config.js';
import { buildDataSourceOptions } from './src/infrastructure/database/data-source-options.js';

/**
 * TypeORM CLI entry (`npm run migration:run`): the same options the app uses. Only the database's
 * URL is read (`DATABASE_URL` or `DATABASE_URL_FILE`): migrating needs none of the service's keys.
 */
const databaseUrl = loadDatabaseUrl(process.env);
if (!databaseUrl) {
  // Said and exited here: a throw would reach the operator wrapped in TypeORM's "Unable to open file".
  process.stderr.write(
    'DATABASE_URL is not set. The migration CLI needs a server; `npm start` migrates its embedded database by itself.\n',
  );
  process.exit(1);
}
export default new DataSource(buildDataSourceOptions(databaseUrl, { cli: true }));
