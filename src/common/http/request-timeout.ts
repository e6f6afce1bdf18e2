import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE_HEADER, problemBody } from '../errors/problem.js';

const TIMER = Symbol('request timeout');
const WEBHOOKS_PREFIX = '/api/webhooks/';
type TimedRequest = FastifyRequest & { [TIMER]?: NodeJS.Timeout };

/**
 * Bounds every request to `REQUEST_TIMEOUT_MS`: a request still running then (a provider answering
 * slowly but within its own timeout, retries after 429s, a lock held by a long transaction) is
 * answered 503 with `Retry-After` and a problem+json body, so a caller is never left waiting on an
 * open connection. The work already under way is not torn down half-way (a transaction commits or
 * rolls back as a whole); a retry with the same `Idempotency-Key` gets its answer if it completed,
 * and the late answer of the route itself goes nowhere.
 *
 * A timer per request in Fastify's hooks rather than a Nest interceptor: one global interceptor
 * puts every request through Nest's RxJS pipeline, measured here at half the webhook intake's
 * throughput (8.5–9.5k against 14.5–18k pushes/s for the same build without it). Fastify's own
 * `connectionTimeout`/`requestTimeout` only bound reading the request, not handling it.
 *
 * Routes in `unbounded` (Fastify route templates) are left alone: `POST /api/v1/admin/tasks/:task/run`
 * answers when the task is done, as the contract says, and an early 503 would invite a retry that
 * runs the whole task again.
 */
export function boundRequestTime(fastify: FastifyInstance, ms: number, unbounded: readonly string[] = []): void {
  const exempt = new Set(unbounded);
  fastify.addHook('onRequest', (request: TimedRequest, reply, done) => {
    // The route's template (`routeOptions` builds an object per read): not for the webhook routes,
    // the hot path, which are never exempt.
    if (exempt.size > 0 && !request.url.startsWith(WEBHOOKS_PREFIX) && exempt.has(request.routeOptions.url ?? '')) return done();
    const timer = setTimeout(() => {
      // `sent` is the end of the answer; a streamed one (a static file to a slow reader) has its
      // headers out well before, and a second answer would throw here, in a timer: the process ends.
      if (reply.sent || reply.raw.headersSent) return;
      const body = problemBody(
        503,
        `The request did not complete within REQUEST_TIMEOUT_MS (${ms} ms); it may still complete. Retry it (with the same Idempotency-Key for writes).`,
        String(request.id),
      );
      void reply.code(503).header('retry-after', '1').header('content-type', PROBLEM_CONTENT_TYPE_HEADER).send(body);
    }, ms);
    timer.unref();
    request[TIMER] = timer;
    done();
  });
  const clear = (request: TimedRequest, done: () => void) => {
    clearTimeout(request[TIMER]);
    done();
  };
  fastify.addHook('onResponse', (request: TimedRequest, _reply, done) => clear(request, done));
  fastify.addHook('onRequestAbort', (request: TimedRequest, done) => clear(request, done));
}
