import { Logger as NestLogger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

const UNIQUE_VIOLATION = '23505';

/**
 * TypeORM's log lines through the application's logger (pino), and never a query's parameters:
 * they carry provider tokens, webhook secrets and personal data. TypeORM's own console logger
 * prints them with every failed query. Only errors and warnings are logged (a unique violation at
 * debug level, see `logQueryError`); the SQL text (which holds placeholders, not values) says which
 * statement failed.
 */
export class QueryErrorLogger implements TypeOrmLogger {
  private readonly logger = new NestLogger('Database');

  /**
   * `announce`: the migration CLI (`ormconfig.ts`), where what is pending and what ran is the
   * command's whole output (`migration:show`, `migration:run`): plain lines on standard output.
   * The service leaves them out.
   */
  constructor(private readonly options: { announce?: boolean } = {}) {}

  logQuery(): void {}

  logQueryError(error: string | Error, query: string, _parameters?: unknown[]): void {
    const message = error instanceof Error ? error.message : error;
    const line = `query failed: ${message} (${query.replace(/\s+/g, ' ').slice(0, 500)})`;
    // A unique violation is the caller's to judge: a conflict it answers (409, a page written again
    // as an upsert), or a 500 the HTTP filter logs as an error itself. Only a debug line here.
    if (typeof error === 'object' && (error as { code?: unknown }).code === UNIQUE_VIOLATION) this.logger.debug(line);
    else this.logger.error(line);
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(`slow query (${time} ms): ${query.replace(/\s+/g, ' ').slice(0, 500)}`);
  }

  /** TypeORM's migration runner reports here: pending and applied migrations, each one run. */
  logSchemaBuild(message: string): void {
    // The CLI's output is these lines, plain (no logger prefix, no colours in a pipe). The service
    // says nothing of them: every start (and every test database) checks the migrations.
    if (this.options.announce) process.stdout.write(`${message}\n`);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
  }
}
