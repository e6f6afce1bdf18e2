import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { HttpExceptionFilter } from '../common/errors/http-exception.filter.js';
import { createValidationPipe } from '../common/validation/validation.pipe.js';
import { buildOpenApiDocument } from './openapi.js';

/** Everything main.ts and the e2e tests both apply, so tests see the app users run. */
export function configureApp(app: NestFastifyApplication, options: { docs?: boolean } = {}): void {
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  // `DOCS_ENABLED=false` (the default in production): no /docs nor /docs-json (404); the same
  // document is committed as openapi.json for host teams.
  if (options.docs ?? true) {
    const document = buildOpenApiDocument(app);
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  }
}

export const BODY_LIMIT_BYTES = 1024 * 1024;
