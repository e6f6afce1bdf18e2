import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source-options.js';
import { DATABASE_URL } from './database.tokens.js';
import { migrateDatabase } from './migrate.js';

@Global()
@Module({})
export class DatabaseModule {
  /** Connects, then migrates (schema and queue) before anything else starts. */
  static forRoot(databaseUrl: string, options: { poolSize?: number } = {}): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => buildDataSourceOptions(databaseUrl, options),
          dataSourceFactory: async (options) => {
            const dataSource = await new DataSource(options!).initialize();
            await migrateDatabase(dataSource, databaseUrl);
            return dataSource;
          },
        }),
      ],
      providers: [{ provide: DATABASE_URL, useValue: databaseUrl }],
      exports: [DATABASE_URL],
    };
  }
}
