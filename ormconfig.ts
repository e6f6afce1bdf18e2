import { DataSource } from 'typeorm';
import { loadConfigFromProcess } from './src/config/load-config.js';
import { buildDataSourceOptions } from './src/infrastructure/database/data-source-options.js';

/** TypeORM CLI entry (`npm run migration:run`): the same options the app uses. */
const config = loadConfigFromProcess();
if (!config.databaseUrl) {
  throw new Error(
    'DATABASE_URL is not set. The migration CLI needs a server; `npm start` migrates its embedded database by itself.',
  );
}
export default new DataSource(buildDataSourceOptions(config.databaseUrl));
