import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthenticationHandler, Client, TelemetryHandler } from '@microsoft/microsoft-graph-client';
import { createTlsMaterial } from '../../../../emulators/microsoft/tls.js';
import { type FetchLike, GraphHttp, GraphHttpHandler } from './graph-http.js';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

/** A loopback https server with a certificate from a private CA, as the Graph emulator has. */
async function tlsServer(handler: Handler) {
  const tls = createTlsMaterial();
  const server = https.createServer({ cert: tls.certChainPem, key: tls.keyPem }, (request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => handler(request, body, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    caPem: tls.caPem,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The Graph client as the adapter builds it (bearer token, telemetry, `GraphHttp` last), for a loopback host. */
function graphClient(url: string, fetch: FetchLike, onResponse?: (response: Response) => void): Client {
  return Client.initWithMiddleware({
    baseUrl: url,
    defaultVersion: 'v1.0',
    customHosts: new Set(['127.0.0.1']),
    middleware: [
      new AuthenticationHandler({ getAccessToken: async () => 'token-1' }),
      new TelemetryHandler(),
      new GraphHttpHandler(fetch, onResponse),
    ],
  });
}

describe('GraphHttp', () => {
  const clients: GraphHttp[] = [];
  const servers: Array<{ close(): Promise<void> }> = [];
  const http = (options: ConstructorParameters<typeof GraphHttp>[0]) => {
    const client = new GraphHttp(options);
    clients.push(client);
    return client;
  };
  const server = async (handler: Handler) => {
    const created = await tlsServer(handler);
    servers.push(created);
    return created;
  };
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('trusts the configured CA and hands back a Response with the answer', async () => {
    const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];
    const s = await server((request, body, response) => {
      seen.push({ method: request.method, url: request.url, headers: request.headers, body });
      response.writeHead(201, { 'content-type': 'application/json', 'retry-after': '3' });
      response.end(JSON.stringify({ id: 'e1', subject: 'Réunion' }));
    });
    const answer = await http({ caCertificate: s.caPem, timeoutMs: 5000 }).fetch(`${s.url}/v1.0/me/events?$top=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Prefer: 'outlook.timezone="UTC"' },
      body: JSON.stringify({ subject: 'Réunion' }),
    });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('retry-after')).toBe('3');
    expect(await answer.json()).toEqual({ id: 'e1', subject: 'Réunion' });
    expect(seen).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/v1.0/me/events?$top=1',
        body: '{"subject":"Réunion"}',
        headers: expect.objectContaining({
          'content-type': 'application/json',
          prefer: 'outlook.timezone="UTC"',
          'content-length': '22',
        }),
      }),
    ]);
  });

  it('reads an answer that came in many chunks as JSON once, as a Response does, multi-byte characters across chunk ends included', async () => {
    const events = Array.from({ length: 3000 }, (_, i) => ({ id: `e${i}`, subject: `Réunion ${i} ✓` }));
    const bytes = Buffer.from(JSON.stringify({ '@odata.context': 'ctx', value: events }), 'utf8');
    const s = await server((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      // Odd-sized writes, so that characters of two and three bytes are split between chunks.
      for (let at = 0; at < bytes.length; at += 4093) response.write(bytes.subarray(at, at + 4093));
      response.end();
    });
    const answer = await http({ caCertificate: s.caPem, timeoutMs: 5000 }).fetch(s.url);
    expect(answer).toBeInstanceOf(Response);
    expect(answer.ok).toBe(true);
    const copy = answer.clone();
    expect(answer.bodyUsed).toBe(false);
    expect(await answer.json()).toEqual({ '@odata.context': 'ctx', value: events });
    expect(answer.bodyUsed).toBe(true);
    await expect(answer.text()).rejects.toThrow(TypeError);
    expect(() => answer.clone()).toThrow(TypeError);
    // The clone made before reading has the same bytes, through every reader.
    expect(Buffer.from(await copy.clone().arrayBuffer()).equals(bytes)).toBe(true);
    expect(await new Response(copy.clone().body).text()).toBe(bytes.toString('utf8'));
    expect(await (await copy.blob()).text()).toBe(bytes.toString('utf8'));
  });

  it('reads text and JSON after a byte order mark, as a Response does', async () => {
    const s = await server((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"token":"é"}', 'utf8')]));
    });
    const client = http({ caCertificate: s.caPem, timeoutMs: 5000 });
    expect(await (await client.fetch(s.url)).json()).toEqual({ token: 'é' });
    expect(await (await client.fetch(s.url)).text()).toBe('{"token":"é"}');
    expect(await new Response(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])).text()).toBe('{}');
  });

  it("hands the Graph client an error answer's JSON, status and headers", async () => {
    const s = await server((_request, _body, response) => {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      response.end(JSON.stringify({ error: { code: 'ApplicationThrottled', message: 'Too many requests' } }));
    });
    const seen: Response[] = [];
    const client = graphClient(s.url, http({ caCertificate: s.caPem, timeoutMs: 5000 }).fetch, (response) => seen.push(response));
    await expect(client.api('/me/events').get()).rejects.toMatchObject({
      statusCode: 429,
      code: 'ApplicationThrottled',
      message: 'Too many requests',
    });
    expect(seen.map((r) => [r.status, r.headers.get('retry-after')])).toEqual([[429, '7']]);
  });

  it('refuses a certificate it was not told to trust', async () => {
    const s = await server((_request, _body, response) => response.end('{}'));
    await expect(http({ caCertificate: null, timeoutMs: 5000 }).fetch(s.url)).rejects.toThrow(/certificate/i);
  });

  it('answers a 204 with an empty body', async () => {
    const s = await server((_request, _body, response) => {
      response.writeHead(204);
      response.end();
    });
    const answer = await http({ caCertificate: s.caPem, timeoutMs: 5000 }).fetch(s.url, { method: 'DELETE' });
    expect(answer.status).toBe(204);
    expect(answer.body).toBeNull();
  });

  it('aborts a call that takes longer than its timeout, default or per request', async () => {
    const s = await server(() => undefined); // never answers
    const client = http({ caCertificate: s.caPem, timeoutMs: 150 });
    const started = Date.now();
    await expect(client.fetch(s.url)).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(client.fetch(s.url, { timeoutMs: 50 })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("gives the Graph client's bearer token to a custom host over https (the emulator recipe)", async () => {
    const authorization: Array<string | undefined> = [];
    const s = await server((request, _body, response) => {
      authorization.push(request.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ value: [], '@odata.deltaLink': `${s.url}/v1.0/me/calendarView/delta?$deltatoken=abc` }));
    });
    const client = graphClient(s.url, http({ caCertificate: s.caPem, timeoutMs: 5000 }).fetch);
    const page = await client.api('/me/calendarView/delta?startDateTime=2026-01-01T00:00:00Z').get();
    await client.api(page['@odata.deltaLink']).get();
    expect(authorization).toEqual(['Bearer token-1', 'Bearer token-1']);
  });
});
