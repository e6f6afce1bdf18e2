import type { FastifyInstance } from 'fastify';
import type { MetricsService } from './metrics.service.js';

/**
 * Times every answer by route pattern (`/api/v1/bookings/:id`, never the raw URL, so the series
 * stay few) and status. Fastify's `onResponse` runs once the answer is sent; `elapsedTime` is
 * measured from the request's arrival. Requests that matched no route share `route="unmatched"`,
 * so a scanner's random paths cannot create series.
 */
export function instrumentHttp(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
}
