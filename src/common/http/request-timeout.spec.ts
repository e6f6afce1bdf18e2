import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { boundRequestTime } from './request-timeout.js';

/** A real Fastify server on loopback, bounded at 100 ms. */
describe('boundRequestTime', () => {
  let app: FastifyInstance;

  beforeEach(async () => {
    app = Fastify();
    boundRequestTime(app, 100);
    app.get('/slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return { late: true };
    });
    // Headers at once, the body over 400 ms (a large file to a slow reader).
    app.get('/stream', (_request, reply) => {
      let sent = 0;
      const body = new Readable({
        read() {
          if (sent === 8) return this.push(null);
          sent += 1;
          setTimeout(() => this.push(`chunk ${sent}\n`), 50);
        },
      });
      void reply.type('text/plain').send(body);
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterEach(async () => {
    await app.close();
  });

  const url = (path: string) => {
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    return `http://127.0.0.1:${address.port}${path}`;
  };

  it('answers a request still running after the bound with 503, Retry-After and a problem body', async () => {
    const response = await fetch(url('/slow'));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect((await response.json()) as { status: number }).toMatchObject({ status: 503 });
  });

  it('leaves a response whose headers are out alone: the body streamed past the bound arrives whole', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const response = await fetch(url('/stream'));
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text.split('\n').filter(Boolean)).toHaveLength(8);
      // The timer fired meanwhile; it must not have tried to answer a second time.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
