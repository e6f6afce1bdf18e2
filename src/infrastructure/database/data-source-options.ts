import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations/index.js';
import { ENTITIES } from './entities.js';

/** The one TypeORM options factory, shared by the app and `ormconfig.ts` (the CLI). */
export function buildDataSourceOptions(databaseUrl: string, overrides: { poolSize?: number } = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['error'],
    poolSize: overrides.poolSize ?? 20,
    extra: { application_name: 'calsync' },
  };
}
