import type { INestApplication } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../../config/app-config.js';
import { PROBLEM_CONTENT_TYPE_HEADER, problemBody } from '../errors/problem.js';
import type { ApiAuthKind } from './api-auth.decorator.js';
import { ApiKeys } from './api-key.guard.js';
import { routeAuthKinds } from './route-auth.js';

/**
 * The bearer key of `/api/v1` routes, checked when the request arrives, before its body is read:
 * a caller without the key gets 401 whatever it sent (not a 400 for its malformed JSON, a 413 for
 * its size or a 415 for its type, which would also make calsync read and parse a stranger's body).
 * Fastify parses bodies before Nest's guards run, hence a Fastify hook; the per-route key is read
 * from the guard's own metadata (`routeAuthKinds`), once the application is built. `ApiKeyGuard`
 * still runs in the route. Provider webhooks pay one prefix check; routes without a key (health,
metrics, the OAuth callback) are simply not in the table.
 *
 * The error is written here as the exception filter would write it (problem+json), since Nest's
 * filters do not see Fastify hooks.
 */
export function checkKeysBeforeParsing(
  fastify: FastifyInstance,
  config: Pick<AppConfig, 'apiKey' | 'adminApiKey'>,
  app: () => INestApplication | null,
): void {
  const keys = new ApiKeys(config);
  let kinds: Map<string, ApiAuthKind> | null = null;
  const kindOf = (method: string, path: string): ApiAuthKind | undefined => {
    if (!kinds) {
      const built = app();
      if (!built) return undefined;
      kinds = new Map();
      for (const route of routeAuthKinds(built)) {
        kinds.set(`${route.method} ${route.path}`, route.kind);
        if (route.method === 'GET') kinds.set(`HEAD ${route.path}`, route.kind);
      }
    }
    return kinds.get(`${method} ${path}`);
  };
  fastify.addHook('onRequest', (request, reply, done) => {
    // Provider webhooks (the hot path) skip the route lookup; every other request is judged by the
    // route it matched, not by its raw path ("/%61pi/v1/users" is routed to /api/v1/users too).
    if (request.url.startsWith('/api/webhooks/')) return done();
    const kind = kindOf(request.method, request.routeOptions.url ?? '');
    const refusal = kind === undefined ? null : keys.refusal(kind, request.headers.authorization);
    if (!refusal) return done();
    void reply
      .code(401)
      .header('content-type', PROBLEM_CONTENT_TYPE_HEADER)
      .send(problemBody(401, refusal, String(request.id)));
  });
}
