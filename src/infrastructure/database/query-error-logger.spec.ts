import { Logger } from '@nestjs/common';
import { jest } from '@jest/globals';
import { buildDataSourceOptions } from './data-source-options.js';
import { QueryErrorLogger } from './query-error-logger.js';

describe('QueryErrorLogger', () => {
  afterEach(() => jest.restoreAllMocks());

  it('is the data source logger: a failed query is logged with its SQL and never its parameters', () => {
    const logged: string[] = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      logged.push(String(message));
    });
    const { logger } = buildDataSourceOptions('postgres://localhost/x') as unknown as { logger: QueryErrorLogger };
    expect(logger).toBeInstanceOf(QueryErrorLogger);
    // TypeORM hands the parameters as a third argument.
    (logger.logQueryError as (error: Error, query: string, parameters: unknown[]) => void)(
      new Error('duplicate key value'),
      'INSERT INTO "Credential" ("accessToken") VALUES ($1)',
      ['ya29.secret-access-token'],
    );
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('duplicate key value');
    expect(logged[0]).toContain('INSERT INTO "Credential"');
    expect(logged.join('\n')).not.toContain('ya29.secret-access-token');
  });

  it('logs a unique violation at debug level only: the caller answers it (a 409, a page written again)', () => {
    const errors: string[] = [];
    const debug: string[] = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      errors.push(String(message));
    });
    jest.spyOn(Logger.prototype, 'debug').mockImplementation((message: unknown) => {
      debug.push(String(message));
    });
    const logger = new QueryErrorLogger();
    const violation = Object.assign(new Error('duplicate key value violates unique constraint "CalendarCacheEvent_pkey"'), {
      code: '23505',
    });
    logger.logQueryError(violation, 'INSERT INTO "CalendarCacheEvent" ("externalId") VALUES ($1)');
    logger.logQueryError(Object.assign(new Error('deadlock detected'), { code: '40P01' }), 'DELETE FROM "CalendarCacheEvent"');

    expect(debug).toEqual([expect.stringContaining('CalendarCacheEvent_pkey')]);
    expect(errors).toEqual([expect.stringContaining('deadlock detected')]);
  });

  it('reports what the migration runner says as plain lines on standard output for the migration CLI, and nothing in the service', () => {
    const written: string[] = [];
    const debug: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    jest.spyOn(Logger.prototype, 'debug').mockImplementation((message: unknown) => {
      debug.push(String(message));
    });
    const cli = (buildDataSourceOptions('postgres://localhost/x', { cli: true }) as unknown as { logger: QueryErrorLogger })
      .logger;
    const service = (buildDataSourceOptions('postgres://localhost/x') as unknown as { logger: QueryErrorLogger }).logger;
    // What TypeORM's MigrationExecutor hands `logSchemaBuild` for `migration:show` and `migration:run`.
    cli.logSchemaBuild('[ ] Init1763000000000');
    cli.logSchemaBuild('Migration Init1763000000000 has been executed successfully.');
    service.logSchemaBuild('No migrations are pending');
    expect(written).toEqual(['[ ] Init1763000000000\n', 'Migration Init1763000000000 has been executed successfully.\n']);
    expect(debug).toEqual([]);
  });
});
