import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule, type AppModuleOptions } from '../app.module.js';
import type { AppConfig } from '../config/app-config.js';
import { BODY_LIMIT_BYTES, configureApp } from './configure-app.js';
import { echoRequestId, requestIdFrom } from './request-id.js';
import { boundRequestTime } from '../common/http/request-timeout.js';
import { checkKeysBeforeParsing } from '../common/auth/api-key-hook.js';
import { parseJsonBody, unsupportedEncoding } from '../common/http/json-body.js';
import { clientErrorHandler, frameworkErrors } from '../common/http/framework-errors.js';
import type { Params as LoggingParams } from 'nestjs-pino';
import { CalsyncLogger, type LogOutput, logRequests, loggerParams } from '../infrastructure/logging/logging.js';
import { MetricsService } from '../infrastructure/metrics/metrics.service.js';
import { instrumentHttp } from '../infrastructure/metrics/http-metrics.js';

/** Answers when its task is done (the contract): outside `REQUEST_TIMEOUT_MS`. */
const TASK_RUN_ROUTE = '/api/v1/admin/tasks/:task/run';

/** Builds the Nest application on Fastify; `listen` is left to the caller. */
export async function createApp(
  config: AppConfig,
  databaseUrl: string,
  options: {
    /** Nest's preview mode: modules and routes without running any provider (no database); for `npm run openapi`. */
    preview?: boolean;
    /** The logger's parameters, when the caller built them already (main.ts logs before the app exists). */
    logging?: LoggingParams;
    /** Where the log lines go when `logging` is not given (tests capture them); standard output by default. */
    logOutput?: LogOutput;
    /** Extension modules loaded beside calsync's (see `AppModuleOptions.extensions`). */
    extensions?: AppModuleOptions['extensions'];
  } = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: true,
    requestIdHeader: false,
    genReqId: requestIdFrom,
    // What Fastify or Node refuse before any route runs, in problem+json too.
    frameworkErrors,
    clientErrorHandler,
  });
  echoRequestId(adapter.getInstance());
  boundRequestTime(adapter.getInstance(), config.requestTimeoutMs, [TASK_RUN_ROUTE]);
  // Google pushes have an empty body, sometimes with a JSON content type; that is not an error
  // (parseJsonBody: undefined). A NUL character in any string is a 400 before anything runs.
  adapter
    .getInstance()
    .addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (request, body, done) => {
      const encoding = unsupportedEncoding(request.headers['content-encoding']);
      if (encoding) return done(encoding, undefined);
      let value: unknown;
      try {
        value = parseJsonBody(typeof body === 'string' ? body : body.toString('utf8'));
      } catch (error) {
        return done(error as Error, undefined);
      }
      done(null, value);
    });
  // Every route with a body takes JSON. Fastify would parse text/plain into a string that then
  // fails every field's validation; answer 415 naming application/json instead. An empty text/plain
  // body stays accepted: that is how Microsoft Graph sends its subscription validation handshake.
  adapter
    .getInstance()
    .addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (request, body, done) => {
      const encoding = unsupportedEncoding(request.headers['content-encoding']);
      if (encoding) return done(encoding, undefined);
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text === '') return done(null, undefined);
      done(Object.assign(new Error('Send the body as application/json'), { statusCode: 415 }), undefined);
    });
  const logging = options.logging ?? loggerParams(config, options.logOutput);
  logRequests(adapter.getInstance(), logging);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({ config, databaseUrl, extensions: options.extensions }),
    adapter,
    {
      // pino from the first line on (levels: LOG_LEVEL, applied by pino); nothing to buffer.
      logger: new CalsyncLogger(logging),
      bufferLogs: false,
      // JSON is parsed by the parser registered above (it accepts Google's empty push bodies).
      bodyParser: false,
      preview: options.preview ?? false,
      // A provider that fails while the modules are built (the database connection, after its
      // retries) rejects createApp, as a refused init does, instead of Nest exiting the process
      // itself: the caller says what failed and releases what was started (`runCalsync`).
      abortOnError: false,
    },
  );
  // npm run openapi (preview) always builds the document.
  configureApp(app, { docs: config.docsEnabled || (options.preview ?? false) });
  if (!options.preview) {
    instrumentHttp(adapter.getInstance(), app.get(MetricsService));
    // After the request id, time bound and request log hooks, so a 401 is logged and measured.
    checkKeysBeforeParsing(adapter.getInstance(), config, () => app);
    // Start-up checks run in the modules' init hooks (migrations, the ENCRYPTION_KEY check): run
    // them here, so a refusal rejects createApp and leaves no pool or worker behind.
    try {
      await app.init();
    } catch (error) {
      await app.close().catch(() => undefined);
      throw error;
    }
  }
  return app;
}
