import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { ApiAuthKind } from '../common/auth/api-auth.decorator.js';
import { routeAuthKinds } from '../common/auth/route-auth.js';
import { FieldProblemSchema, ProblemSchema } from '../common/errors/problem.schema.js';

/** The two bearer keys (CONTRACT.md): the application key for `/api/v1`, the admin key for `/api/v1/admin`. */
export const APP_KEY_SCHEME = 'appKey';
export const ADMIN_KEY_SCHEME = 'adminKey';

/**
 * The OpenAPI description host teams generate clients from; `/docs-json` serves it and
 * `npm run openapi` writes it to `openapi.json` (a test fails when the two differ).
 *
 * - Operation ids are `<verb><Resource>` (`createBooking`, `listBookings`): a method already named
 *   `verbNoun` keeps its name, otherwise the controller's resource is appended (singular, plural
 *   for `list`); `@ApiOperation({ operationId })` overrides.
 * - Security is read from the same metadata the `ApiKeyGuard` reads, so the description cannot
 *   claim a key a route does not check: admin routes need `adminKey`, other guarded routes
 *   `appKey`, public routes (OAuth callback) none.
 * - Every error is `application/problem+json` (`Problem`).
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('calsync')
      .setDescription(
        'Two-way sync between bookings and Google/Outlook calendars, with a busy-time cache. ' +
          'Errors are RFC 9457 problem+json (`Problem`); branch on `code`.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The application key (API_KEY)' }, APP_KEY_SCHEME)
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The admin key (ADMIN_API_KEY)' }, ADMIN_KEY_SCHEME)
      .build(),
    { operationIdFactory: operationId, extraModels: [ProblemSchema, FieldProblemSchema] },
  );
  applySecurity(app, document);
  addProblemResponses(document);
  return document;
}

/** `BookingsController.create` → `createBooking`; `AccountsController.createUser` → `createUser`. */
export function operationId(controllerKey: string, methodKey: string): string {
  if (/[A-Z]/.test(methodKey)) return methodKey;
  const resource = controllerKey
    .replace(/Controller$/, '')
    .replace(/Admin$/, '')
    .replace(/^Admin/, '');
  return methodKey === 'list' ? `${methodKey}${resource}` : `${methodKey}${resource.replace(/s$/, '')}`;
}

type Operation = { security?: Array<Record<string, string[]>>; responses: Record<string, unknown>; parameters?: unknown[] };
type OperationKey = `${string} ${string}`;

function applySecurity(app: INestApplication, document: OpenAPIObject): void {
  const auth = routeAuth(app);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, Operation>)) {
      const kind = auth.get(`${method} ${path}`);
      if (kind === undefined) continue;
      operation.security = kind === 'none' ? [] : [{ [kind === 'admin' ? ADMIN_KEY_SCHEME : APP_KEY_SCHEME]: [] }];
    }
  }
}

/** For every route: which key it needs (`routeAuthKinds`), keyed as the OpenAPI document names operations. */
function routeAuth(app: INestApplication): Map<OperationKey, ApiAuthKind> {
  const routes = new Map<OperationKey, ApiAuthKind>();
  for (const { method, path, kind } of routeAuthKinds(app)) {
    routes.set(`${method.toLowerCase()} ${path.replace(/:(\w+)/g, '{$1}')}`, kind);
  }
  return routes;
}

const PROBLEM_CONTENT = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

const PROBLEM_RESPONSES = {
  BadRequest: 'The request is invalid: a malformed body, a field that fails validation (`errors` lists each), a bad id',
  Unauthorized: 'The bearer key is missing or not the one this route needs',
  NotFound: 'Something the path names does not exist',
  ClientError: 'Another caller mistake, e.g. 409 conflict, 413 body too large, 415 not JSON, 422',
  ServerError: 'calsync or a calendar provider failed (502/503/504 for providers); details are in the logs under `requestId`',
} as const;

function addProblemResponses(document: OpenAPIObject): void {
  document.components ??= {};
  document.components.responses ??= {};
  for (const [name, description] of Object.entries(PROBLEM_RESPONSES)) {
    document.components.responses[name] = { description, content: PROBLEM_CONTENT };
  }
  const ref = (name: keyof typeof PROBLEM_RESPONSES) => ({ $ref: `#/components/responses/${name}` });
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, Operation>)) {
      const takesInput = method !== 'get' || (operation.parameters?.length ?? 0) > 0;
      const responses = operation.responses;
      if (takesInput) responses['400'] ??= ref('BadRequest');
      if ((operation.security?.length ?? 0) > 0) responses['401'] ??= ref('Unauthorized');
      if (path.includes('{')) responses['404'] ??= ref('NotFound');
      responses['4XX'] ??= ref('ClientError');
      responses['5XX'] ??= ref('ServerError');
    }
  }
}

/** Where `npm run openapi` writes the description, relative to the repository root. */
export const OPENAPI_FILE = 'openapi.json';

/** The description as committed: the served document, two-space indented, with a final newline. */
export function serializeOpenApi(app: INestApplication): string {
  return `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`;
}
