import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations/index.js';
import { ENTITIES } from './entities.js';
import { QueryErrorLogger } from './query-error-logger.js';

/** The one TypeORM options factory, shared by the app and `ormconfig.ts` (the CLI). */
export function buildDataSourceOptions(
  databaseUrl: string,
  overrides: { poolSize?: number; /** The migration CLI: migrations reported at info level. */ cli?: boolean } = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['error', 'warn', 'migration'],
    logger: new QueryErrorLogger({ announce: overrides.cli ?? false }),
    poolSize: overrides.poolSize ?? 20,
    extra: { application_name: 'calsync' },
  };
}
