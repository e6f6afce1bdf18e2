import { type DynamicModule, Global, Injectable, Module } from '@nestjs/common';
import { LoggerModule, type Params, PinoLogger } from 'nestjs-pino';

/**
 * Binds fields to every line logged inside a unit of work that is not a request: a job gets
 * `jobId` and `task`, a calendar's sync `calendarId`. Nest `Logger` calls made anywhere below it
 * (across awaits) carry them, as request logs carry `reqId`.
 */
@Injectable()
export class LogContext {
  constructor(private readonly pino: PinoLogger) {}

  run<T>(fields: Record<string, string | number>, work: () => T): T {
    // inherit: a sync started inside a job keeps the job's fields and adds its own.
    return this.pino.runInContext(work, { bindings: fields, inherit: true });
  }
}

/** nestjs-pino (request logging, `reqId` binding) and `LogContext`, for every module. */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(params: Params): DynamicModule {
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot(params)],
      providers: [LogContext],
      exports: [LogContext],
    };
  }
}
