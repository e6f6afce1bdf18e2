import { spawn } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Client,
  type Context,
  CustomAuthenticationProvider,
  type GraphError,
  type Middleware,
  MiddlewareFactory,
  RetryHandlerOptions,
} from '@microsoft/microsoft-graph-client';
import { freePort } from '../free-port.js';
import { MicrosoftGraphEmulator } from './microsoft-graph.emulator.js';
import type { GraphEvent } from './types.js';

const CLIENT_ID = 'calsync-test-client';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

// ---- the recipe documented in emulators/README.md: the real Graph client over node:https ------------

type Fetch = (
  url: string,
  init?: { method?: string; headers?: Record<string, string> | Headers; body?: string | null },
) => Promise<Response>;

/** fetch over node:https with the emulator's CA (Node 20's global fetch ignores `agent`). */
function httpsFetch(ca: string): Fetch {
  const agent = new https.Agent({ ca, keepAlive: false });
  return (url, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers));
      const req = https.request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) for (const x of [v ?? []].flat()) h.append(k, x);
          const status = res.statusCode ?? 0;
          resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: h }));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(init.body ?? undefined);
    });
}

/** The Graph client's last middleware, sending with `fetch` above instead of the global fetch. */
class HttpsTransport implements Middleware {
  constructor(private readonly fetch: Fetch) {}

  async execute(context: Context): Promise<void> {
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    const o = context.options ?? {};
    context.response = await this.fetch(url, {
      method: o.method,
      headers: o.headers as Record<string, string> | Headers,
      body: o.body as string | null,
    });
  }
}

function graphClient(emu: MicrosoftGraphEmulator, token: string | (() => string)): Client {
  const auth = new CustomAuthenticationProvider((done) => done(null, typeof token === 'string' ? token : token()));
  const middleware = MiddlewareFactory.getDefaultMiddlewareChain(auth);
  middleware[middleware.length - 1] = new HttpsTransport(httpsFetch(emu.caCertificate));
  return Client.initWithMiddleware({ middleware, baseUrl: emu.url, customHosts: new Set(['127.0.0.1']) });
}

// ---- helpers -------------------------------------------------------------------------------------

interface Received {
  path: string;
  body: { value: Array<Record<string, unknown>> };
  at: number;
}

/**
 * A web-hook receiver on loopback: answers the validation handshake (echo, or a chosen misbehaviour), records
 * notification POSTs, and answers them with queued statuses first, then 202.
 */
class Receiver {
  readonly posts: Received[] = [];
  readonly validations: string[] = [];
  readonly statuses: number[] = [];
  validation: 'echo' | 'wrong' | 'refuse' | 'hang' = 'echo';
  private readonly server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver.invalid');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const token = url.searchParams.get('validationToken');
      if (token !== null) {
        this.validations.push(token);
        if (this.validation === 'hang') return; // never answers
        res.writeHead(this.validation === 'refuse' ? 403 : 200, { 'Content-Type': 'text/plain' });
        res.end(this.validation === 'wrong' ? 'not the token' : token);
        return;
      }
      this.posts.push({ path: url.pathname, body: JSON.parse(Buffer.concat(chunks).toString() || '{}'), at: Date.now() });
      res.writeHead(this.statuses.shift() ?? 202);
      res.end();
    });
  });

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  url(path = '/graph'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  items(path = '/graph'): Array<Record<string, unknown>> {
    return this.posts.filter((p) => p.path === path).flatMap((p) => p.body.value);
  }

  async waitForItems(count: number, path = '/graph', timeoutMs = 3000): Promise<Array<Record<string, unknown>>> {
    await waitUntil(() => this.items(path).length >= count, `${count} notification items at ${path}`, timeoutMs);
    return this.items(path);
  }

  clear(): void {
    this.posts.length = 0;
    this.validations.length = 0;
    this.statuses.length = 0;
    this.validation = 'echo';
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function graphError(p: Promise<unknown>): Promise<GraphError> {
  try {
    await p;
  } catch (e) {
    return e as GraphError;
  }
  throw new Error('expected the call to fail');
}

const at = (day: number, hour: number, minute = 0) =>
  `2025-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00`;
const utc = (day: number, hour: number, minute = 0) => ({ dateTime: at(day, hour, minute), timeZone: 'UTC' });
const MARCH = 'startDateTime=2025-03-01T00:00:00Z&endDateTime=2025-04-01T00:00:00Z';
const UTC_PREFER = 'outlook.timezone="UTC"';
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

interface DeltaPage {
  value: Array<Record<string, unknown>>;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

/** Follows nextLinks until a deltaLink, as a sync client does; returns every entity and the deltaLink. */
async function deltaRound(
  client: Client,
  first: string,
  pageSize = 2,
): Promise<{ items: Array<Record<string, unknown>>; deltaLink: string; pages: number }> {
  const items: Array<Record<string, unknown>> = [];
  let link = first;
  for (let pages = 1; ; pages++) {
    const page = (await client.api(link).header('Prefer', `${UTC_PREFER}, odata.maxpagesize=${pageSize}`).get()) as DeltaPage;
    items.push(...page.value);
    if (page['@odata.deltaLink']) return { items, deltaLink: page['@odata.deltaLink'], pages };
    if (!page['@odata.nextLink']) throw new Error('a delta page without nextLink or deltaLink');
    link = page['@odata.nextLink'];
  }
}

/** Applies delta entities to a map by id, idempotently, in any order (entities carry their changeKey). */
function applyDelta(state: Map<string, string>, items: Array<Record<string, unknown>>): void {
  for (const it of items) {
    if (it['@removed']) state.delete(it.id as string);
    else state.set(it.id as string, it.subject as string);
  }
}

// ---- suite ---------------------------------------------------------------------------------------

describe('MicrosoftGraphEmulator (real @microsoft/microsoft-graph-client)', () => {
  let emu: MicrosoftGraphEmulator;
  let receiver: Receiver;
  let alice: ReturnType<MicrosoftGraphEmulator['addAccount']>;
  let client: Client;
  let fetchTls: Fetch;

  beforeAll(async () => {
    emu = await MicrosoftGraphEmulator.start({ validationTimeoutMs: 500 });
    receiver = await Receiver.start();
    fetchTls = httpsFetch(emu.caCertificate);
  });

  afterAll(async () => {
    await emu.stop();
    await receiver.stop();
  });

  beforeEach(() => {
    emu.reset();
    receiver.clear();
    alice = emu.addAccount({ email: ALICE });
    client = graphClient(emu, alice.accessToken);
  });

  const createEvent = (body: Record<string, unknown>, calendarId = alice.calendarId): Promise<GraphEvent> =>
    client.api(`/me/calendars/${calendarId}/events`).header('Prefer', UTC_PREFER).post(body) as Promise<GraphEvent>;

  async function token(form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetchTls(emu.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT_ID, ...form }).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function subscribe(body: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return (await client.api('/subscriptions').post({
      changeType: 'created,updated,deleted',
      notificationUrl: receiver.url('/graph'),
      lifecycleNotificationUrl: receiver.url('/lifecycle'),
      resource: `/me/calendars/${alice.calendarId}/events`,
      expirationDateTime: inAnHour(),
      clientState: 'secret-client-state',
      ...body,
    })) as Record<string, unknown>;
  }

  describe('TLS', () => {
    it('serves a certificate for 127.0.0.1 and localhost, signed by the CA it exposes', async () => {
      const ca = new X509Certificate(emu.caCertificate);
      expect(ca.ca).toBe(true);
      const res = await fetchTls(`${emu.url}/__emulator/ca.pem`);
      expect(await res.text()).toBe(emu.caCertificate);
      const leaf = await new Promise<X509Certificate>((resolve, reject) => {
        const req = https.get(`${emu.url}/`, { ca: emu.caCertificate, agent: false }, (r) => {
          r.resume();
          resolve(new X509Certificate((r.socket as import('node:tls').TLSSocket).getPeerCertificate().raw));
        });
        req.on('error', reject);
      });
      expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(leaf.checkHost('localhost')).toBe('localhost');
      expect(leaf.verify(ca.publicKey)).toBe(true);
      // Node 20's global fetch does not trust it (and ignores fetchOptions.agent), hence the recipe.
      await expect(fetch(`${emu.url}/`)).rejects.toThrow();
    });

    it('works with the plain Client.init in a process started with NODE_EXTRA_CA_CERTS', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ms-emu-ca-'));
      try {
        const caFile = join(dir, 'ca.pem');
        writeFileSync(caFile, emu.caCertificate);
        const script = [
          "import graph from '@microsoft/microsoft-graph-client';",
          "const client = graph.Client.init({ baseUrl: process.argv[1], customHosts: new Set(['127.0.0.1']), authProvider: (done) => done(null, process.argv[2]) });",
          "const page = await client.api('/me/calendars').get();",
          'console.log(JSON.stringify(page.value.map((c) => c.name)));',
        ].join('\n');
        const out = await new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, emu.url, alice.accessToken], {
            cwd: fileURLToPath(new URL('../..', import.meta.url)), // the repository root, where node_modules is
            // eslint-disable-next-line no-restricted-properties -- the child needs this process's environment plus the CA
            env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`child exited ${code}: ${stderr}`))));
        });
        expect(JSON.parse(out)).toEqual(['Calendar']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('OAuth and bearer auth', () => {
    it('answers 401 InvalidAuthenticationToken without a valid token, and hides other mailboxes', async () => {
      const none = await fetchTls(`${emu.graphUrl}/me/calendars`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
      const bogus = await graphError(graphClient(emu, 'not-a-token').api('/me/calendars').get());
      expect([bogus.statusCode, bogus.code]).toEqual([401, 'InvalidAuthenticationToken']);

      const bob = emu.addAccount({ email: BOB });
      const other = await graphError(client.api(`/me/calendars/${bob.calendarId}/events`).get());
      expect(other.statusCode).toBe(404);
      expect(other.code).toBe('ErrorItemNotFound');
      const otherUser = await graphError(client.api(`/users/${BOB}/calendars`).get());
      expect(otherUser.statusCode).toBe(403);
      const mine = (await client.api(`/users/${alice.userId}/calendars`).get()) as {
        value: Array<{ id: string; isDefaultCalendar: boolean; owner: { address: string } }>;
      };
      expect(mine.value).toEqual([
        expect.objectContaining({
          id: alice.calendarId,
          isDefaultCalendar: true,
          owner: expect.objectContaining({ address: ALICE }),
        }),
      ]);
      expect(((await client.api('/me').get()) as { mail: string }).mail).toBe(ALICE);
    });

    it('rotates refresh tokens (the old one keeps working) and expires access tokens', async () => {
      const first = await token({ grant_type: 'refresh_token', refresh_token: alice.refreshToken });
      expect(first.status).toBe(200);
      expect(first.body).toEqual(
        expect.objectContaining({
          token_type: 'Bearer',
          expires_in: 3600,
          access_token: expect.any(String),
          refresh_token: expect.any(String),
        }),
      );
      expect(String(first.body.scope)).toContain('Calendars.ReadWrite');
      expect(first.body.refresh_token).not.toBe(alice.refreshToken);
      expect((await token({ grant_type: 'refresh_token', refresh_token: alice.refreshToken })).status).toBe(200);

      emu.expireAccessTokens();
      const expired = await graphError(client.api('/me/calendars').get());
      expect(expired.statusCode).toBe(401);
      expect(expired.message).toMatch(/expired/);
      const fresh = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string });
      expect(
        (
          (await graphClient(emu, fresh.body.access_token as string)
            .api('/me/calendars')
            .get()) as { value: unknown[] }
        ).value,
      ).toHaveLength(1);
    });

    it('answers invalid_grant (AADSTS70000) after a revoke, and the grant’s access tokens stop working', async () => {
      const rotated = await token({ grant_type: 'refresh_token', refresh_token: alice.refreshToken });
      emu.revokeRefreshToken(alice.refreshToken);
      for (const rt of [alice.refreshToken, rotated.body.refresh_token as string]) {
        const res = await token({ grant_type: 'refresh_token', refresh_token: rt });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_grant');
        expect(String(res.body.error_description)).toMatch(/^AADSTS70000:/);
        expect(res.body.error_codes).toEqual([70000]);
      }
      expect((await graphError(client.api('/me/calendars').get())).statusCode).toBe(401);
      expect(
        (
          await graphError(
            graphClient(emu, rotated.body.access_token as string)
              .api('/me/calendars')
              .get(),
          )
        ).statusCode,
      ).toBe(401);
      expect(emu.callCount('token')).toBe(3);
    });

    it('runs the authorization-code flow with PKCE; codes are single-use', async () => {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const redirectUri = 'http://127.0.0.1:9/callback';
      const authorize = new URL(emu.authorizeUrl);
      for (const [k, v] of Object.entries({
        client_id: CLIENT_ID,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: 'openid offline_access https://graph.microsoft.com/Calendars.ReadWrite',
        state: 'xyz',
        login_hint: 'carol@example.com',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        prompt: 'consent',
      })) {
        authorize.searchParams.set(k, v);
      }
      const res = await fetchTls(authorize.toString());
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location') as string);
      expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
      expect(location.searchParams.get('state')).toBe('xyz');
      const code = location.searchParams.get('code') as string;

      const wrong = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: 'nope' });
      expect(wrong.body.error).toBe('invalid_grant');
      // A failed redemption still uses the code up; get a new one.
      const again = new URL((await fetchTls(authorize.toString())).headers.get('location') as string).searchParams.get(
        'code',
      ) as string;
      const ok = await token({
        grant_type: 'authorization_code',
        code: again,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      });
      expect(ok.status).toBe(200);
      expect(ok.body.scope).toBe('openid Calendars.ReadWrite');
      expect(ok.body.refresh_token).toEqual(expect.any(String));
      const claims = JSON.parse(Buffer.from(String(ok.body.id_token).split('.')[1], 'base64url').toString()) as Record<
        string,
        unknown
      >;
      expect(claims).toEqual(
        expect.objectContaining({ preferred_username: 'carol@example.com', aud: CLIENT_ID, tid: emu.tenantId }),
      );
      const reused = await token({
        grant_type: 'authorization_code',
        code: again,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      });
      expect(String(reused.body.error_description)).toMatch(/^AADSTS54005:/);
      // login_hint created the account, with its default calendar.
      const carol = graphClient(emu, ok.body.access_token as string);
      expect(((await carol.api('/me/calendar').get()) as { name: string }).name).toBe('Calendar');
    });

    it('can grant fewer scopes than asked; writes then answer 403', async () => {
      emu.faults.limitGrantedScopes(['Calendars.Read']);
      const redirectUri = 'http://127.0.0.1:9/cb';
      const url = `${emu.authorizeUrl}?client_id=${CLIENT_ID}&response_type=code&redirect_uri=${encodeURIComponent(redirectUri)}&scope=offline_access%20Calendars.ReadWrite%20Calendars.Read&login_hint=${ALICE}`;
      const code = new URL((await fetchTls(url)).headers.get('location') as string).searchParams.get('code') as string;
      const granted = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
      expect(granted.body.scope).toBe('Calendars.Read');
      const readOnly = graphClient(emu, granted.body.access_token as string);
      await readOnly.api('/me/calendars').get();
      const denied = await graphError(readOnly.api('/me/events').post({ subject: 'x', start: utc(10, 9), end: utc(10, 10) }));
      expect(denied.statusCode).toBe(403);
      expect(denied.code).toBe('ErrorAccessDenied');
    });
  });

  describe('events', () => {
    it('creates with transactionId once: a retried POST answers the same event', async () => {
      const body = { subject: 'Booking 1', start: utc(10, 9), end: utc(10, 10), transactionId: 'booking-1' };
      const first = await createEvent(body);
      const retry = await createEvent(body);
      expect(retry.id).toBe(first.id);
      expect(first.transactionId).toBe('booking-1');
      expect(emu.listEvents(alice.calendarId)).toHaveLength(1);
      const different = await graphError(createEvent({ ...body, subject: 'Another booking' }));
      expect(different.statusCode).toBe(400);
      expect(different.code).toBe('ErrorDuplicateTransactionId');
      const found = (await client
        .api(`/me/calendars/${alice.calendarId}/events?$filter=transactionId eq 'booking-1'&$top=1`)
        .get()) as { value: GraphEvent[] };
      expect(found.value.map((e) => e.id)).toEqual([first.id]);
      // Switched to answer repeats as the events are now: the event that id made, whatever the repeat holds.
      emu.faults.replayTransactionsAsTheyAre(true);
      try {
        const replayed = await createEvent({ ...body, subject: 'Another booking' });
        expect(replayed).toMatchObject({ id: first.id, subject: 'Booking 1' });
        expect(emu.listEvents(alice.calendarId)).toHaveLength(1);
      } finally {
        emu.faults.clear();
      }
    });

    it('returns Graph’s event shape, in UTC or in the preferred zone', async () => {
      const created = await createEvent({
        subject: 'Planning',
        body: { contentType: 'html', content: '<p>Agenda: <b>sync</b></p>' },
        start: { dateTime: '2025-03-10T09:00:00', timeZone: 'Europe/Berlin' },
        end: { dateTime: '2025-03-10T10:00:00', timeZone: 'W. Europe Standard Time' },
        location: { displayName: 'Room 1' },
        attendees: [{ emailAddress: { address: BOB, name: 'Bob' }, type: 'required' }],
        showAs: 'tentative',
      });
      expect(created).toEqual(
        expect.objectContaining({
          '@odata.etag': `W/"${created.changeKey}"`,
          type: 'singleInstance',
          seriesMasterId: null,
          iCalUId: expect.stringMatching(/^040000008200E00074C5B7101A82E008/),
          start: { dateTime: '2025-03-10T08:00:00.0000000', timeZone: 'UTC' },
          end: { dateTime: '2025-03-10T09:00:00.0000000', timeZone: 'UTC' },
          bodyPreview: 'Agenda: sync',
          isAllDay: false,
          isCancelled: false,
          showAs: 'tentative',
          responseStatus: expect.objectContaining({ response: 'organizer' }),
          organizer: { emailAddress: { name: 'Alice', address: ALICE } },
          location: expect.objectContaining({ displayName: 'Room 1' }),
          attendees: [
            {
              type: 'required',
              status: { response: 'none', time: '0001-01-01T00:00:00Z' },
              emailAddress: { name: 'Bob', address: BOB },
            },
          ],
          originalStartTimeZone: 'Europe/Berlin',
        }),
      );
      const pacific = (await client
        .api(`/me/events/${created.id}`)
        .header('Prefer', 'outlook.timezone="Pacific Standard Time", outlook.body-content-type="text"')
        .get()) as GraphEvent;
      expect(pacific.start).toEqual({ dateTime: '2025-03-10T01:00:00.0000000', timeZone: 'Pacific Standard Time' });
      expect(pacific.body).toEqual({ contentType: 'text', content: 'Agenda: sync' });
    });

    it('PATCH merges fields, bumps changeKey and lastModifiedDateTime; a stale If-Match answers 412', async () => {
      const created = await createEvent({
        subject: 'Draft',
        start: utc(11, 9),
        end: utc(11, 10),
        location: { displayName: 'Here' },
      });
      const patched = (await client
        .api(`/me/events/${created.id}`)
        .header('If-Match', created['@odata.etag'])
        .patch({ subject: 'Final' })) as GraphEvent;
      expect(patched.subject).toBe('Final');
      expect(patched.location.displayName).toBe('Here');
      expect(patched.changeKey).not.toBe(created.changeKey);
      expect(Date.parse(patched.lastModifiedDateTime)).toBeGreaterThan(Date.parse(created.lastModifiedDateTime));
      const stale = await graphError(
        client.api(`/me/events/${created.id}`).header('If-Match', created['@odata.etag']).patch({ subject: 'Lost update' }),
      );
      expect(stale.statusCode).toBe(412);
      expect(stale.code).toBe('ErrorIrresolvableConflict');
      expect(emu.getEvent(created.id)?.subject).toBe('Final');

      // The user's edits in Outlook bump it as well, strictly.
      const edited = emu.updateEvent(created.id, { subject: 'Edited in Outlook' });
      expect(Date.parse(edited.lastModifiedDateTime)).toBeGreaterThan(Date.parse(patched.lastModifiedDateTime));
    });

    it('GET of a deleted event is 404 ErrorItemNotFound; DELETE is 204, then 404', async () => {
      const created = await createEvent({ subject: 'Gone soon', start: utc(12, 9), end: utc(12, 10) });
      expect(await client.api(`/me/calendars/${alice.calendarId}/events/${created.id}`).delete()).toBeUndefined();
      const get = await graphError(client.api(`/me/events/${created.id}`).get());
      expect([get.statusCode, get.code]).toEqual([404, 'ErrorItemNotFound']);
      expect((await graphError(client.api(`/me/events/${created.id}`).delete())).statusCode).toBe(404);
      expect(emu.getEvent(created.id)).toBeUndefined();
    });

    it('filters by iCalUId and pages the events collection with absolute https nextLinks', async () => {
      const events: GraphEvent[] = [];
      for (let i = 0; i < 5; i++)
        events.push(await createEvent({ subject: `E${i}`, start: utc(13, 8 + i), end: utc(13, 9 + i) }));
      const filtered = (await client
        .api(`/me/calendars/${alice.calendarId}/events?$filter=iCalUId eq '${events[3].iCalUId}'`)
        .get()) as { value: GraphEvent[] };
      expect(filtered.value.map((e) => e.subject)).toEqual(['E3']);
      const page1 = (await client.api(`/me/calendars/${alice.calendarId}/events?$top=2`).get()) as {
        value: GraphEvent[];
        '@odata.nextLink': string;
      };
      expect(page1['@odata.nextLink']).toMatch(new RegExp(`^${emu.graphUrl}/`));
      const seen = [...page1.value];
      for (let link: string | undefined = page1['@odata.nextLink']; link;) {
        const page = (await client.api(link).get()) as { value: GraphEvent[]; '@odata.nextLink'?: string };
        seen.push(...page.value);
        link = page['@odata.nextLink'];
      }
      expect(seen.map((e) => e.subject)).toEqual(['E0', 'E1', 'E2', 'E3', 'E4']);
    });

    it('moves an event (Outlook’s way): a new id in the destination, the same iCalUId', async () => {
      const other = emu.addCalendar(ALICE, { name: 'Side' });
      const created = emu.createEvent(alice.calendarId, { subject: 'Move me', start: utc(14, 9), end: utc(14, 10) });
      const moved = emu.moveEvent(created.id, other.id);
      expect(moved.id).not.toBe(created.id);
      expect(moved.iCalUId).toBe(created.iCalUId);
      expect(emu.getEvent(created.id)).toBeUndefined();
      expect(emu.listEvents(other.id).map((e) => e.id)).toEqual([moved.id]);
      expect(((await client.api(`/me/calendars/${other.id}/events/${moved.id}`).get()) as GraphEvent).subject).toBe('Move me');
      expect((await graphError(client.api(`/me/calendars/${alice.calendarId}/events/${moved.id}`).get())).statusCode).toBe(404);
    });
  });

  describe('recurring series', () => {
    const weekly = {
      subject: 'Standup',
      start: utc(3, 9),
      end: utc(3, 9, 15),
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday'], firstDayOfWeek: 'sunday' },
        range: { type: 'numbered', startDate: '2025-03-03', numberOfOccurrences: 4 },
      },
    };

    it('expands occurrences in calendarView; the master is not listed there', async () => {
      const master = await createEvent(weekly);
      expect(master.type).toBe('seriesMaster');
      expect(master.recurrence?.range.numberOfOccurrences).toBe(4);
      const view = (await client.api(`/me/calendar/calendarView?${MARCH}`).header('Prefer', UTC_PREFER).get()) as {
        value: GraphEvent[];
      };
      expect(view.value.map((e) => e.start.dateTime)).toEqual([
        '2025-03-03T09:00:00.0000000',
        '2025-03-05T09:00:00.0000000',
        '2025-03-10T09:00:00.0000000',
        '2025-03-12T09:00:00.0000000',
      ]);
      expect(view.value.every((e) => e.type === 'occurrence' && e.seriesMasterId === master.id)).toBe(true);
      expect(new Set(view.value.map((e) => e.id)).size).toBe(4);
      expect(new Set(view.value.map((e) => e.iCalUId)).size).toBe(4);
      expect(view.value.map((e) => e.id)).not.toContain(master.id);

      // An occurrence can be read, changed (it becomes an exception) and deleted by its id.
      const [first, second] = view.value;
      expect(((await client.api(`/me/events/${first.id}`).get()) as GraphEvent).type).toBe('occurrence');
      const moved = (await client.api(`/me/events/${first.id}`).patch({ start: utc(3, 11), end: utc(3, 11, 15) })) as GraphEvent;
      expect([moved.type, moved.id, moved.seriesMasterId]).toEqual(['exception', first.id, master.id]);
      await client.api(`/me/events/${second.id}`).delete();
      const after = emu.calendarView(alice.calendarId, '2025-03-01T00:00:00Z', '2025-04-01T00:00:00Z');
      expect(after.map((e) => [e.type, e.start.dateTime])).toEqual([
        ['exception', '2025-03-03T11:00:00.0000000'],
        ['occurrence', '2025-03-10T09:00:00.0000000'],
        ['occurrence', '2025-03-12T09:00:00.0000000'],
      ]);
      const instances = (await client.api(`/me/events/${master.id}/instances?${MARCH}`).get()) as { value: GraphEvent[] };
      expect(instances.value).toHaveLength(3);
    });

    it('keeps wall-clock time across DST for a daily series in its zone', async () => {
      emu.createEvent(alice.calendarId, {
        subject: 'Daily',
        start: { dateTime: '2025-03-29T09:00:00', timeZone: 'Europe/Berlin' },
        end: { dateTime: '2025-03-29T09:30:00', timeZone: 'Europe/Berlin' },
        recurrence: {
          pattern: { type: 'daily', interval: 1 },
          range: { type: 'endDate', startDate: '2025-03-29', endDate: '2025-03-31' },
        },
      });
      const view = emu.calendarView(alice.calendarId, '2025-03-01T00:00:00Z', '2025-04-01T00:00:00Z');
      expect(view.map((e) => e.start.dateTime)).toEqual([
        '2025-03-29T08:00:00.0000000',
        '2025-03-30T07:00:00.0000000',
        '2025-03-31T07:00:00.0000000',
      ]);
    });
  });

  describe('calendarView and delta', () => {
    it('pages calendarView with $top and nextLink', async () => {
      for (let i = 0; i < 3; i++)
        emu.createEvent(alice.calendarId, { subject: `V${i}`, start: utc(20 - i, 9), end: utc(20 - i, 10) });
      const first = (await client.api(`/me/calendars/${alice.calendarId}/calendarView?${MARCH}&$top=2`).get()) as {
        value: GraphEvent[];
        '@odata.nextLink': string;
      };
      const second = (await client.api(first['@odata.nextLink']).get()) as { value: GraphEvent[]; '@odata.nextLink'?: string };
      expect([...first.value, ...second.value].map((e) => e.subject)).toEqual(['V2', 'V1', 'V0']);
      expect(second['@odata.nextLink']).toBeUndefined();
      const selected = (await client.api(`/me/calendarView?${MARCH}&$select=subject`).get()) as {
        value: Array<Record<string, unknown>>;
      };
      expect(Object.keys(selected.value[0]).sort()).toEqual(['@odata.etag', 'id', 'subject']);
    });

    it('lists a window over pages with absolute https links, then reports only changes', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push(emu.createEvent(alice.calendarId, { subject: `D${i}`, start: utc(5 + i, 9), end: utc(5 + i, 10) }).id);
      emu.createEvent(alice.calendarId, {
        subject: 'April',
        start: { dateTime: '2025-04-15T09:00:00', timeZone: 'UTC' },
        end: { dateTime: '2025-04-15T10:00:00', timeZone: 'UTC' },
      });

      const full = await deltaRound(client, `/me/calendars/${alice.calendarId}/calendarView/delta?${MARCH}`);
      expect(full.pages).toBe(3);
      expect(full.items.map((e) => e.subject)).toEqual(['D0', 'D1', 'D2', 'D3', 'D4']);
      expect(full.deltaLink).toMatch(
        new RegExp(`^https://127\\.0\\.0\\.1:\\d+/v1\\.0/me/calendars/.+/calendarView/delta\\?\\$deltatoken=`),
      );
      expect(
        emu.calls
          .filter((c) => c.operation === 'calendarView.delta')
          .every((c) => c.status === 200 && c.calendarId === alice.calendarId),
      ).toBe(true);

      const unchanged = await deltaRound(client, full.deltaLink);
      expect(unchanged.items).toEqual([]);

      emu.updateEvent(ids[1], { subject: 'D1 edited' });
      emu.deleteEvent(ids[2]);
      emu.updateEvent(ids[3], { start: utc(28, 9, 0), end: { dateTime: '2025-04-02T10:00:00', timeZone: 'UTC' } }); // still overlaps
      emu.updateEvent(ids[4], {
        start: { dateTime: '2025-05-01T09:00:00', timeZone: 'UTC' },
        end: { dateTime: '2025-05-01T10:00:00', timeZone: 'UTC' },
      }); // leaves the window
      const added = emu.createEvent(alice.calendarId, { subject: 'D5', start: utc(30, 9), end: utc(30, 10) });
      const changes = await deltaRound(client, full.deltaLink);
      expect(changes.items).toEqual([
        expect.objectContaining({ id: ids[1], subject: 'D1 edited' }),
        { '@odata.type': '#microsoft.graph.event', id: ids[2], '@removed': { reason: 'deleted' } },
        expect.objectContaining({ id: ids[3], start: { dateTime: '2025-03-28T09:00:00.0000000', timeZone: 'UTC' } }),
        { '@odata.type': '#microsoft.graph.event', id: ids[4], '@removed': { reason: 'deleted' } },
        expect.objectContaining({ id: added.id, subject: 'D5' }),
      ]);
      const state = new Map<string, string>();
      applyDelta(state, full.items);
      applyDelta(state, changes.items);
      expect([...state.values()].sort()).toEqual(['D0', 'D1 edited', 'D3', 'D5']);
    });

    it('reports a moved event as removed at the source and new at the destination', async () => {
      const side = emu.addCalendar(ALICE, { name: 'Side' });
      const ev = emu.createEvent(alice.calendarId, { subject: 'Travels', start: utc(6, 9), end: utc(6, 10) });
      const src = await deltaRound(client, `/me/calendars/${alice.calendarId}/calendarView/delta?${MARCH}`);
      const dst = await deltaRound(client, `/me/calendars/${side.id}/calendarView/delta?${MARCH}`);
      const moved = emu.moveEvent(ev.id, side.id);
      expect((await deltaRound(client, src.deltaLink)).items).toEqual([
        expect.objectContaining({ id: ev.id, '@removed': { reason: 'deleted' } }),
      ]);
      expect((await deltaRound(client, dst.deltaLink)).items).toEqual([
        expect.objectContaining({ id: moved.id, iCalUId: ev.iCalUId }),
      ]);
    });

    it('reports a single turned into a series: the single removed, its occurrences new', async () => {
      const single = emu.createEvent(alice.calendarId, { subject: 'Booking', start: utc(10, 9), end: utc(10, 10) });
      const round = await deltaRound(client, `/me/calendars/${alice.calendarId}/calendarView/delta?${MARCH}`);
      emu.updateEvent(single.id, {
        recurrence: {
          pattern: { type: 'daily', interval: 7 },
          range: { type: 'numbered', startDate: '2025-03-10', numberOfOccurrences: 3 },
        },
      });
      const changes = await deltaRound(client, round.deltaLink, 10);
      const removed = changes.items.filter((e) => e['@removed']).map((e) => e.id);
      const occurrences = changes.items.filter((e) => !e['@removed']);
      expect(removed).toEqual([single.id]);
      expect(occurrences.map((e) => [e.type, e.seriesMasterId, (e.start as { dateTime: string }).dateTime])).toEqual([
        ['occurrence', single.id, '2025-03-10T09:00:00.0000000'],
        ['occurrence', single.id, '2025-03-17T09:00:00.0000000'],
        ['occurrence', single.id, '2025-03-24T09:00:00.0000000'],
      ]);
      // Shortening the series removes the occurrences that no longer exist.
      emu.updateEvent(single.id, {
        recurrence: {
          pattern: { type: 'daily', interval: 7 },
          range: { type: 'numbered', startDate: '2025-03-10', numberOfOccurrences: 1 },
        },
      });
      const shorter = await deltaRound(client, changes.deltaLink, 10);
      expect(
        shorter.items
          .filter((e) => e['@removed'])
          .map((e) => e.id)
          .sort(),
      ).toEqual([occurrences[1].id, occurrences[2].id].sort());
    });

    it('can shuffle and repeat entities; an idempotent apply still converges', async () => {
      for (let i = 0; i < 6; i++)
        emu.createEvent(alice.calendarId, { subject: `S${i}`, start: utc(5 + i, 9), end: utc(5 + i, 10) });
      emu.faults.shuffleDelta(true);
      const round = await deltaRound(client, `/me/calendars/${alice.calendarId}/calendarView/delta?${MARCH}`, 3);
      expect(round.items.length).toBeGreaterThan(6);
      const state = new Map<string, string>();
      applyDelta(state, round.items);
      expect([...state.values()].sort()).toEqual(['S0', 'S1', 'S2', 'S3', 'S4', 'S5']);
    });

    it('answers 410 syncStateNotFound (or 400 resyncRequired) for invalidated tokens', async () => {
      emu.createEvent(alice.calendarId, { subject: 'x', start: utc(7, 9), end: utc(7, 10) });
      const round = await deltaRound(client, `/me/calendarView/delta?${MARCH}`);
      emu.faults.invalidateDeltaTokens(alice.calendarId);
      const gone = await graphError(client.api(round.deltaLink).get());
      expect([gone.statusCode, gone.code]).toEqual([410, 'syncStateNotFound']);
      const again = await deltaRound(client, `/me/calendarView/delta?${MARCH}`);
      emu.faults.invalidateDeltaTokens(undefined, 'resyncRequired');
      const resync = await graphError(client.api(again.deltaLink).get());
      expect([resync.statusCode, resync.code]).toEqual([400, 'resyncRequired']);
      const forged = await graphError(client.api(`/me/calendarView/delta?$deltatoken=garbage`).get());
      expect([forged.statusCode, forged.code]).toEqual([410, 'syncStateNotFound']);
    });

    it('full-syncs 3,000 events in pages of 1,000 quickly', async () => {
      const bob = emu.addAccount({ email: BOB });
      emu.seedEvents(
        bob.calendarId,
        Array.from({ length: 3000 }, (_, i) => ({
          subject: `B${i}`,
          start: utc(1 + (i % 28), i % 20),
          end: utc(1 + (i % 28), (i % 20) + 1),
        })),
      );
      const started = Date.now();
      const round = await deltaRound(graphClient(emu, bob.accessToken), `/me/calendarView/delta?${MARCH}`, 1000);
      expect(round.items).toHaveLength(3000);
      expect(round.pages).toBe(3);
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });

  describe('getSchedule', () => {
    it('reports busy time: not free, not cancelled, not declined by the owner', async () => {
      const bob = emu.addAccount({ email: BOB });
      emu.createEvent(bob.calendarId, { subject: 'Busy', start: utc(10, 9), end: utc(10, 10) });
      emu.createEvent(bob.calendarId, { subject: 'Maybe', start: utc(10, 10), end: utc(10, 10, 30), showAs: 'tentative' });
      emu.createEvent(bob.calendarId, { subject: 'Free', start: utc(10, 11), end: utc(10, 12), showAs: 'free' });
      emu.createEvent(bob.calendarId, { subject: 'Cancelled', start: utc(10, 12), end: utc(10, 13), isCancelled: true });
      const invite = emu.createEvent(bob.calendarId, {
        subject: 'Declined',
        start: utc(10, 13),
        end: utc(10, 14),
        organizer: { emailAddress: { address: 'boss@example.com' } },
      });
      emu.updateEvent(invite.id, { responseStatus: { response: 'declined' } });
      const answer = (await client
        .api('/me/calendar/getSchedule')
        .header('Prefer', UTC_PREFER)
        .post({
          schedules: [BOB, 'nobody@example.com'],
          startTime: { dateTime: at(10, 8), timeZone: 'UTC' },
          endTime: { dateTime: at(10, 15), timeZone: 'UTC' },
          availabilityViewInterval: 60,
        })) as {
        value: Array<{
          scheduleId: string;
          availabilityView: string;
          scheduleItems: Array<{ status: string; subject: string; start: { dateTime: string } }>;
          error?: unknown;
        }>;
      };
      const [b, nobody] = answer.value;
      expect(b.scheduleId).toBe(BOB);
      expect(b.availabilityView).toBe('0210000'); // 09-10 busy, 10-11 tentative, the rest free
      expect(b.scheduleItems.map((i) => [i.subject, i.status, i.start.dateTime])).toEqual([
        ['Busy', 'busy', '2025-03-10T09:00:00.0000000'],
        ['Maybe', 'tentative', '2025-03-10T10:00:00.0000000'],
      ]);
      expect(nobody.error).toEqual(expect.objectContaining({ responseCode: 'ErrorMailRecipientNotFound' }));
    });
  });

  describe('subscriptions and notifications', () => {
    it('validates the receiver with the decoded token before answering 201', async () => {
      const sub = await subscribe();
      expect(sub).toEqual(
        expect.objectContaining({
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          resource: `/me/calendars/${alice.calendarId}/events`,
          changeType: 'created,updated,deleted',
          clientState: 'secret-client-state',
          notificationUrl: receiver.url('/graph'),
          lifecycleNotificationUrl: receiver.url('/lifecycle'),
        }),
      );
      expect(receiver.validations).toHaveLength(2);
      expect(receiver.validations[0]).toMatch(
        /^Validation: Testing client application reachability for subscription Request-Id: /,
      );
      expect(emu.subscriptions()).toEqual([
        expect.objectContaining({ id: sub.id, calendarIds: [alice.calendarId], expired: false }),
      ]);
    });

    it('refuses receivers that do not echo, do not answer, or are off loopback; and too long lifetimes', async () => {
      receiver.validation = 'wrong';
      const wrong = await graphError(subscribe());
      expect([wrong.statusCode, wrong.code]).toEqual([400, 'ValidationError']);
      receiver.validation = 'refuse';
      expect((await graphError(subscribe())).message).toMatch(/must respond with 200 OK/);
      receiver.validation = 'hang';
      const slow = await graphError(subscribe());
      expect([slow.statusCode, slow.message]).toEqual([400, 'Subscription validation request timed out.']);
      receiver.validation = 'echo';
      const remote = await graphError(subscribe({ notificationUrl: 'https://example.com/hook' }));
      expect(remote.statusCode).toBe(400);
      const tooLong = await graphError(subscribe({ expirationDateTime: new Date(Date.now() + 10_081 * 60_000).toISOString() }));
      expect([tooLong.statusCode, tooLong.code, tooLong.message]).toEqual([
        400,
        'ExtensionError',
        'Subscription expiration can only be 10080 minutes in the future.',
      ]);
      expect(emu.subscriptions()).toEqual([]);
    });

    it('notifies each change with clientState, resource and resourceData; batches subscriptions sharing a URL', async () => {
      const sub = await subscribe();
      const whole = await subscribe({ resource: '/me/events', changeType: 'updated' });
      const ev = emu.createEvent(alice.calendarId, { subject: 'Notify', start: utc(10, 9), end: utc(10, 10) });
      const items = await receiver.waitForItems(3);
      const created = items.find((i) => i.changeType === 'created') as Record<string, unknown>;
      expect(created).toEqual({
        subscriptionId: sub.id,
        subscriptionExpirationDateTime: expect.stringMatching(/\+00:00$/),
        changeType: 'created',
        clientState: 'secret-client-state',
        tenantId: emu.tenantId,
        resource: `Users/${alice.userId}/Events/${ev.id}`,
        resourceData: {
          '@odata.type': '#Microsoft.Graph.Event',
          '@odata.id': `Users/${alice.userId}/Events/${ev.id}`,
          '@odata.etag': ev['@odata.etag'],
          id: ev.id,
        },
      });
      // The echo "updated" reaches both subscriptions in one POST.
      await waitUntil(
        () => receiver.posts.some((p) => new Set(p.body.value.map((v) => v.subscriptionId)).size === 2),
        'a batched POST',
      );
      receiver.clear();
      emu.updateEvent(ev.id, { subject: 'Changed' });
      const updates = await receiver.waitForItems(4);
      expect(updates.every((i) => i.changeType === 'updated')).toBe(true);
      expect(new Set(updates.map((i) => i.subscriptionId))).toEqual(new Set([sub.id, whole.id]));
      receiver.clear();
      await client.api(`/me/events/${ev.id}`).delete();
      const deleted = await receiver.waitForItems(1);
      expect(deleted).toEqual([expect.objectContaining({ subscriptionId: sub.id, changeType: 'deleted' })]);
      expect(emu.notificationLog.filter((e) => e.kind === 'notification').every((e) => e.status === 202)).toBe(true);
    });

    it('renews with PATCH, deletes with DELETE, reauthorizes with POST', async () => {
      const sub = await subscribe();
      const later = new Date(Date.now() + 7 * 86_400_000).toISOString();
      const renewed = (await client.api(`/subscriptions/${sub.id}`).patch({ expirationDateTime: later })) as {
        expirationDateTime: string;
      };
      expect(Date.parse(renewed.expirationDateTime)).toBe(Math.floor(Date.parse(later) / 1000) * 1000);
      expect(await client.api(`/subscriptions/${sub.id}/reauthorize`).post({})).toBeUndefined();
      expect(((await client.api('/subscriptions').get()) as { value: unknown[] }).value).toHaveLength(1);
      await client.api(`/subscriptions/${sub.id}`).delete();
      expect((await graphError(client.api(`/subscriptions/${sub.id}`).delete())).statusCode).toBe(404);
      expect(emu.callCount('subscriptions.delete')).toBe(2);
    });

    it('sends lifecycle events; subscriptionRemoved deletes, expireSubscription silences', async () => {
      const sub = await subscribe();
      expect(await emu.sendLifecycle(sub.id as string, 'reauthorizationRequired')).toBe(202);
      expect(emu.subscriptions()[0].needsReauthorization).toBe(true);
      await client.api(`/subscriptions/${sub.id}/reauthorize`).post({});
      expect(emu.subscriptions()[0].needsReauthorization).toBe(false);
      await emu.sendLifecycle(sub.id as string, 'missed');
      const lifecycle = receiver.items('/lifecycle');
      expect(lifecycle).toEqual([
        {
          subscriptionId: sub.id,
          subscriptionExpirationDateTime: expect.any(String),
          tenantId: emu.tenantId,
          clientState: 'secret-client-state',
          lifecycleEvent: 'reauthorizationRequired',
        },
        expect.objectContaining({ lifecycleEvent: 'missed' }),
      ]);
      await emu.sendLifecycle(sub.id as string, 'subscriptionRemoved');
      expect(emu.subscriptions()).toEqual([]);

      const second = await subscribe();
      emu.expireSubscription(second.id as string);
      emu.createEvent(alice.calendarId, { subject: 'Unheard', start: utc(10, 9), end: utc(10, 10) });
      await sleep(60);
      expect(receiver.items('/graph')).toEqual([]);
      expect((await graphError(client.api(`/subscriptions/${second.id}`).get())).statusCode).toBe(404);
    });

    it('drops, duplicates, holds, reorders and delays notifications; retries on 503', async () => {
      await subscribe({ changeType: 'created' });
      const mk = (subject: string) => emu.createEvent(alice.calendarId, { subject, start: utc(10, 9), end: utc(10, 10) }).id;
      emu.faults.dropNextNotifications(1);
      mk('dropped');
      const dup = (emu.faults.duplicateNextNotifications(1, 3), mk('tripled'));
      const dupItems = await receiver.waitForItems(3);
      expect(dupItems.map((i) => (i.resourceData as { id: string }).id)).toEqual([dup, dup, dup]);
      expect(emu.notificationLog.some((e) => e.status === 'dropped')).toBe(true);

      receiver.clear();
      emu.faults.holdNotifications();
      const a = mk('a');
      const b = mk('b');
      await sleep(30);
      expect(receiver.posts).toHaveLength(0);
      await emu.faults.releaseNotifications(true);
      expect(receiver.items().map((i) => (i.resourceData as { id: string }).id)).toEqual([b, a]);

      receiver.clear();
      receiver.statuses.push(503, 503);
      mk('retried');
      await waitUntil(() => emu.notificationLog.some((e) => e.kind === 'notification' && e.attempts === 3), 'a third attempt');
      expect(emu.notificationLog.find((e) => e.attempts === 3)?.status).toBe(202);

      receiver.clear();
      emu.faults.delayNotifications(80);
      const sent = Date.now();
      mk('late');
      await receiver.waitForItems(1);
      expect(receiver.posts[0].at - sent).toBeGreaterThanOrEqual(75);
    });
  });

  describe('throttling faults', () => {
    it('answers 429 with Retry-After; the client’s RetryHandler waits and succeeds', async () => {
      const ev = emu.createEvent(alice.calendarId, { subject: 'Throttled', start: utc(10, 9), end: utc(10, 10) });
      emu.faults.failNext({ operation: 'events.get', status: 429, retryAfterSeconds: 1 });
      const started = Date.now();
      expect(((await client.api(`/me/events/${ev.id}`).get()) as GraphEvent).subject).toBe('Throttled');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(emu.calls.filter((c) => c.operation === 'events.get').map((c) => c.status)).toEqual([429, 200]);
    });

    it('surfaces 429/503 (with and without Retry-After) and 500 when retries are off; slowNext delays', async () => {
      const noRetry = [new RetryHandlerOptions(0, 0)];
      emu.faults.failNext({ operation: 'calendars.list', status: 429, retryAfterSeconds: 7 });
      const throttled = await graphError(client.api('/me/calendars').middlewareOptions(noRetry).get());
      expect([throttled.statusCode, throttled.code, throttled.headers?.get('retry-after')]).toEqual([
        429,
        'ApplicationThrottled',
        '7',
      ]);
      emu.faults.failNext({ status: 503 });
      const unavailable = await graphError(client.api('/me/calendars').middlewareOptions(noRetry).get());
      expect([unavailable.statusCode, unavailable.code, unavailable.headers?.get('retry-after')]).toEqual([
        503,
        'serviceNotAvailable',
        null,
      ]);
      emu.faults.failNext({ operation: 'events.create', status: 500 });
      expect((await graphError(createEvent({ subject: 'x', start: utc(10, 9), end: utc(10, 10) }))).statusCode).toBe(500);
      emu.faults.slowNext({ operation: 'calendars.list', ms: 150 });
      const started = Date.now();
      await client.api('/me/calendars').get();
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    });
  });

  describe('state', () => {
    it('round-trips snapshot/restore: tokens, events and delta links survive', async () => {
      const ev = await createEvent({ subject: 'Kept', start: utc(10, 9), end: utc(10, 10) });
      const sub = await subscribe();
      const round = await deltaRound(client, `/me/calendarView/delta?${MARCH}`);
      const snap = JSON.parse(JSON.stringify(emu.snapshot())) as ReturnType<MicrosoftGraphEmulator['snapshot']>;
      emu.reset();
      expect((await graphError(client.api('/me/calendars').get())).statusCode).toBe(401);
      emu.restore(snap);
      expect(((await client.api(`/me/events/${ev.id}`).get()) as GraphEvent).subject).toBe('Kept');
      expect(emu.subscriptions().map((s) => s.id)).toEqual([sub.id]);
      emu.updateEvent(ev.id, { subject: 'Kept and changed' });
      expect((await deltaRound(client, round.deltaLink)).items).toEqual([
        expect.objectContaining({ id: ev.id, subject: 'Kept and changed' }),
      ]);
      expect((await token({ grant_type: 'refresh_token', refresh_token: alice.refreshToken })).status).toBe(200);
    });

    it('loads and saves a state file; the CA stays the same across restarts', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ms-emu-state-'));
      const stateFile = join(dir, 'nested', 'microsoft.json');
      const port = await freePort();
      try {
        const one = await MicrosoftGraphEmulator.start({ stateFile, port });
        const carol = one.addAccount({ email: 'carol@example.com' });
        const ev = one.createEvent(carol.calendarId, { subject: 'Persisted', start: utc(10, 9), end: utc(10, 10) });
        const round = await deltaRound(graphClient(one, carol.accessToken), `/me/calendarView/delta?${MARCH}`);
        const ca = one.caCertificate;
        await one.stop();

        const two = await MicrosoftGraphEmulator.start({ stateFile, port });
        try {
          expect(two.caCertificate).toBe(ca);
          const c = graphClient(two, carol.accessToken);
          expect(((await c.api(`/me/events/${ev.id}`).get()) as GraphEvent).subject).toBe('Persisted');
          two.deleteEvent(ev.id);
          expect((await deltaRound(c, round.deltaLink)).items).toEqual([
            expect.objectContaining({ id: ev.id, '@removed': { reason: 'deleted' } }),
          ]);
        } finally {
          await two.stop();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('control routes', () => {
    it('drives the emulator over HTTP (JSON, no auth)', async () => {
      const json = async (path: string, method = 'GET', body?: unknown) => {
        const res = await fetchTls(`${emu.url}${path}`, {
          method,
          headers: { 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>) };
      };
      const index = await json('/');
      expect(index.body).toEqual(
        expect.objectContaining({ graphUrl: emu.graphUrl, tokenUrl: emu.tokenUrl, routes: expect.any(Array) }),
      );
      expect((await json('/__emulator')).status).toBe(200);
      const dave = (await json('/__emulator/accounts', 'POST', { email: 'dave@example.com' })).body as {
        calendarId: string;
        accessToken: string;
      };
      const created = (
        await json(`/__emulator/calendars/${encodeURIComponent(dave.calendarId)}/events`, 'POST', {
          subject: 'By curl',
          start: utc(10, 9),
          end: utc(10, 10),
        })
      ).body as { id: string };
      const patched = await json(`/__emulator/events/${encodeURIComponent(created.id)}`, 'PATCH', { subject: 'Edited by curl' });
      expect(patched.body?.subject).toBe('Edited by curl');
      const listed = (await json(`/__emulator/calendars/${encodeURIComponent(dave.calendarId)}/events`)).body as {
        items: Array<{ subject: string }>;
      };
      expect(listed.items.map((e) => e.subject)).toEqual(['Edited by curl']);
      await json('/__emulator/faults', 'POST', {
        kind: 'failNext',
        operation: 'calendars.list',
        status: 503,
        retryAfterSeconds: 0,
      });
      await graphClient(emu, dave.accessToken).api('/me/calendars').get();
      expect(
        ((await json('/__emulator/calls?operation=calendars.list')).body as { items: Array<{ status: number }> }).items.map(
          (c) => c.status,
        ),
      ).toEqual([503, 200]);
      expect((await json(`/__emulator/events/${encodeURIComponent(created.id)}`, 'DELETE')).status).toBe(204);
      expect((await json('/__emulator/nope')).status).toBe(404);
    });
  });
});
