import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source-options.js';
import { DATABASE_URL } from './database.tokens.js';
import { migrateDatabase } from './migrate.js';

/** Marks an error as the database's (connecting or migrating), for the start's message (`databaseRefusal`). */
export const DATABASE_FAILURE = Symbol.for('calsync.databaseFailure');

function markDatabaseFailure(error: unknown): unknown {
  if (typeof error === 'object' && error !== null) (error as Record<symbol, boolean>)[DATABASE_FAILURE] = true;
  return error;
}

/** SQLSTATEs of a connection refused for good: no such database, bad password, user not allowed. */
const PERMANENT_FAILURES = new Set(['3D000', '28P01', '28000']);

@Global()
@Module({})
export class DatabaseModule {
  /** Connects, then migrates (schema and queue) before anything else starts. */
  static forRoot(databaseUrl: string, options: { poolSize?: number } = {}): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...buildDataSourceOptions(databaseUrl, options),
            // Entities an extension module registers with `TypeOrmModule.forFeature` join calsync's
            // own (`ENTITIES`), so it can inject their repositories; its tables come from migrations.
            autoLoadEntities: true,
            // A server not up yet is waited for (TypeORM's retries); a wrong database name, password
            // or user will not fix itself: the start stops at once, saying so.
            toRetry: (error: unknown) => !PERMANENT_FAILURES.has(String((error as { code?: unknown } | null)?.code)),
          }),
          dataSourceFactory: async (options) => {
            try {
              const dataSource = await new DataSource(options!).initialize();
              await migrateDatabase(dataSource, databaseUrl);
              return dataSource;
            } catch (error) {
              throw markDatabaseFailure(error);
            }
          },
        }),
      ],
      providers: [{ provide: DATABASE_URL, useValue: databaseUrl }],
      exports: [DATABASE_URL],
    };
  }
}
