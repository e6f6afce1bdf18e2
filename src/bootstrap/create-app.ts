import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../app.module.js';
import type { AppConfig } from '../config/app-config.js';
import { BODY_LIMIT_BYTES, configureApp } from './configure-app.js';

/** Builds the Nest application on Fastify; `listen` is left to the caller. */
export async function createApp(config: AppConfig, databaseUrl: string): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, trustProxy: true });
  // Google pushes have an empty body, sometimes with a JSON content type; that is not an error.
  adapter
    .getInstance()
    .addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch (error) {
        const failure = error as Error & { statusCode?: number };
        failure.statusCode = 400;
        failure.message = `Body is not valid JSON: ${failure.message}`;
        done(failure, undefined);
      }
    });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot({ config, databaseUrl }), adapter, {
    logger: levelsFrom(config.logLevel),
    bufferLogs: false,
    // JSON is parsed by the parser registered above (it accepts Google's empty push bodies).
    bodyParser: false,
  });
  configureApp(app);
  return app;
}

function levelsFrom(level: AppConfig['logLevel']): Array<'error' | 'warn' | 'log' | 'debug' | 'verbose'> {
  const order = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
  return order.slice(0, order.indexOf(level) + 1) as Array<(typeof order)[number]>;
}
