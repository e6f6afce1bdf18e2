import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { HttpExceptionFilter } from '../common/errors/http-exception.filter.js';
import { createValidationPipe } from '../common/validation/validation.pipe.js';
import { buildOpenApiDocument } from './openapi.js';

/** Everything main.ts and the e2e tests both apply, so tests see the app users run. */
export function configureApp(app: NestFastifyApplication): void {
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

export const BODY_LIMIT_BYTES = 1024 * 1024;
