import { Controller, Get, Module } from '@nestjs/common';
import { PublicRoute } from '../../src/common/auth/api-auth.decorator.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';

/** An extension's controllers that forgot `@ApiKeyProtected()`: still keyed, by their path. */
@Controller('api/v1/extensions/probe')
class ForgetfulController {
  @Get()
  list() {
    return { items: ['secret'] };
  }
}

@Controller('api/v1/admin/extensions/probe')
class ForgetfulAdminController {
  @Get()
  list() {
    return { items: ['secret'] };
  }
}

/** One that means to be open says so. */
@Controller('api/v1/extensions/open')
class OpenController {
  @PublicRoute()
  @Get()
  hello() {
    return { hello: 'world' };
  }
}

@Module({ controllers: [ForgetfulController, ForgetfulAdminController, OpenController] })
class ForgetfulExtension {}

/**
 * The API-key check is bound per controller (webhooks must not pay for it), so this walks every
 * route the application serves and proves that nothing under /api/v1 answers without a key.
 */
describe('Every /api/v1 route needs its key', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ extensions: [ForgetfulExtension] });
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses requests without a key, with the other key, and opens only with the right one', async () => {
    // Fastify's own route table, not a hand-written list: a new controller is covered automatically.
    const routes = routeTable(t.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false }));
    const api = routes.filter((r) => r.url.startsWith('/api/v1/') && r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(api.length).toBeGreaterThan(25);
    const publicRoutes = ['/api/v1/integrations/:provider/oauth/callback', '/api/v1/extensions/open'];
    expect(api.map((r) => r.url)).toEqual(
      expect.arrayContaining(['/api/v1/extensions/probe', '/api/v1/admin/extensions/probe', '/api/v1/extensions/open']),
    );
    for (const route of api) {
      const url = route.url
        .replace(/:userId|:teamId|:credentialId|:id/g, '1')
        .replace(':provider', 'google_calendar')
        .replace(':slug', 'calendar-subscription-cache')
        .replace(':task', 'cleanup-cache');
      const call = (key?: string) => {
        const req = t.http[route.method.toLowerCase() as 'get'](url);
        return key ? req.set('Authorization', `Bearer ${key}`) : req;
      };
      if (publicRoutes.includes(route.url)) continue;
      const admin = route.url.startsWith('/api/v1/admin/');
      expect({ route: `${route.method} ${route.url}`, status: (await call()).status }).toEqual({
        route: `${route.method} ${route.url}`,
        status: 401,
      });
      const wrongKey = admin ? t.config.apiKey : t.config.adminApiKey;
      expect({ route: `${route.method} ${route.url}`, status: (await call(wrongKey)).status }).toEqual({
        route: `${route.method} ${route.url}`,
        status: 401,
      });
      const rightKey = admin ? t.config.adminApiKey : t.config.apiKey;
      expect((await call(rightKey)).status).not.toBe(401);
    }
    // The one marked public answers without a key; the forgetful ones gave nothing away above.
    await t.http.get('/api/v1/extensions/open').expect(200, { hello: 'world' });
  });

  it('a request without the right key is a 401 whatever its body: malformed, too large or not JSON', async () => {
    const bodies: Array<[string, string]> = [
      ['application/json', '{'],
      ['text/plain', 'hello'],
      ['application/json', JSON.stringify({ email: 'x@example.com', timeZone: 'UTC', pad: 'x'.repeat(2 * 1024 * 1024) })],
    ];
    for (const [type, body] of bodies) {
      for (const key of [undefined, t.config.adminApiKey]) {
        const req = t.http.post('/api/v1/users').set('Content-Type', type);
        const res = await (key ? req.set('Authorization', `Bearer ${key}`) : req).send(body);
        expect({ type, size: body.length, key: key ? 'admin' : 'none', status: res.status }).toEqual({
          type,
          size: body.length,
          key: key ? 'admin' : 'none',
          status: 401,
        });
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 401, code: 'unauthorized', requestId: res.headers['x-request-id'] });
      }
    }
    // A path spelled differently but routed to the same route is judged by that route.
    for (const path of ['/%61pi/v1/users', '/api/v1/%75sers']) {
      const encoded = await t.http.post(path).set('Content-Type', 'application/json').send('{');
      expect({ path, status: encoded.status }).toEqual({ path, status: 401 });
    }
    // The admin routes likewise, with the application key.
    const admin = await t.http
      .post('/api/v1/admin/features')
      .set('Authorization', `Bearer ${t.config.apiKey}`)
      .set('Content-Type', 'application/json')
      .send('{');
    expect(admin.status).toBe(401);
    expect(admin.body.detail).toBe('Invalid admin API key');
    // With the right key, the body's own problem is answered.
    const keyed = await t.http
      .post('/api/v1/users')
      .set('Authorization', `Bearer ${t.config.apiKey}`)
      .set('Content-Type', 'application/json')
      .send('{');
    expect(keyed.status).toBe(400);
  });
});

/** Reads Fastify's printed route tree ("├── /path (GET, POST)" with nested children) into a flat list. */
function routeTable(printed: string): Array<{ method: string; url: string }> {
  const routes: Array<{ method: string; url: string }> = [];
  const stack: string[] = [];
  for (const line of printed.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([^)]+)\))?/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    stack.length = depth;
    const url = (stack[depth - 1] ?? '') + match[2];
    stack[depth] = url;
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url });
  }
  return routes;
}
