import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { type TestApp, createTestApp } from '../support/create-test-app.js';

/**
 * The three-step OAuth flow for host apps (CONTRACT "Host integration"), against both emulators:
 * start → the provider's consent → the callback redirects to the host app with a one-time code →
 * the host app completes it for its signed-in user.
 */

const RETURN_PREFIX = 'https://host.example.com/oauth/';
const RETURN_URL = `${RETURN_PREFIX}done?tab=calendars`;

type Provider = 'google_calendar' | 'office365_calendar';

interface RawAnswer {
  status: number;
  location?: string;
  body: string;
}

/** A plain HTTP(S) request, redirects not followed (the emulators' consent answers a 302). */
function raw(url: string, options: { method?: string; form?: Record<string, string>; ca?: string } = {}): Promise<RawAnswer> {
  const target = new URL(url);
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: options.method ?? 'GET',
        ...(options.ca ? { ca: options.ca } : {}),
        headers: body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('OAuth for host applications', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ microsoft: true, env: { OAUTH_RETURN_URLS: `${RETURN_PREFIX},http://localhost:5173` } });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => {
    t.google.nextConsent(undefined);
    t.microsoft.nextConsent(undefined);
  });

  let seq = 0;
  const newUser = async (label: string, provider: Provider) => {
    const email = `${label}.${++seq}.${process.pid}@${provider === 'google_calendar' ? 'gmail' : 'outlook'}.example.com`;
    if (provider === 'google_calendar') t.google.addAccount({ email });
    else t.microsoft.addAccount({ email });
    const user = await t.api.post('/api/v1/users').send({ email, timeZone: 'UTC' }).expect(201);
    return { id: user.body.id as number, email };
  };

  const emulator = (provider: Provider) =>
    provider === 'google_calendar'
      ? { authorizeUrl: t.google.authorizeUrl, tokenUrl: t.google.tokenUrl, ca: undefined, consent: t.google }
      : {
          authorizeUrl: t.microsoft.authorizeUrl,
          tokenUrl: t.microsoft.tokenUrl,
          ca: t.microsoft.caCertificate,
          consent: t.microsoft,
        };

  const start = async (provider: Provider, userId: number, loginHint?: string, returnUrl = RETURN_URL) => {
    const res = await t.api
      .post(`/api/v1/integrations/${provider}/oauth/start`)
      .send({ userId, returnUrl, ...(loginHint ? { loginHint } : {}) })
      .expect(200);
    return new URL(res.body.url as string);
  };

  /** The user at the provider's consent screen: the provider's redirect to calsync's callback. */
  const consent = async (provider: Provider, authorize: URL): Promise<URL> => {
    const answer = await raw(authorize.toString(), { ca: emulator(provider).ca });
    expect(answer.status).toBe(302);
    const callback = new URL(answer.location!);
    expect(`${callback.origin}${callback.pathname}`).toBe(`${t.baseUrl}/api/v1/integrations/${provider}/oauth/callback`);
    return callback;
  };

  /** The browser at calsync's callback: where it is sent next (the host app's returnUrl). */
  const callback = async (url: URL): Promise<URL> => {
    const res = await t.http.get(`${url.pathname}${url.search}`).expect(302);
    return new URL(res.headers.location as string);
  };

  const credentialsOf = async (userId: number) =>
    (await t.api.get(`/api/v1/users/${userId}/credentials`).expect(200)).body as Array<{ id: number; provider: string }>;

  const storedCredentials = async (): Promise<number> =>
    Number((await t.dataSource.query(`SELECT count(*)::int AS n FROM "Credential"`))[0].n);

  describe.each(['google_calendar', 'office365_calendar'] as const)('%s', (provider) => {
    it('start → consent → callback with a one-time code → complete stores the credential, once', async () => {
      const user = await newUser('happy', provider);
      const authorize = await start(provider, user.id, user.email);
      expect(`${authorize.origin}${authorize.pathname}`).toBe(emulator(provider).authorizeUrl);
      expect(authorize.searchParams.get('redirect_uri')).toBe(`${t.baseUrl}/api/v1/integrations/${provider}/oauth/callback`);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const back = await consent(provider, authorize);
      const landed = await callback(back);
      expect(`${landed.origin}${landed.pathname}`).toBe(`${RETURN_PREFIX}done`);
      expect(landed.searchParams.get('tab')).toBe('calendars');
      expect(landed.searchParams.get('status')).toBe('pending');
      const code = landed.searchParams.get('code')!;
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // Nothing is stored before the host app completes the flow.
      expect(await credentialsOf(user.id)).toEqual([]);

      const completed = await t.api.post('/api/v1/integrations/oauth/complete').send({ code, userId: user.id }).expect(201);
      expect(completed.body).toMatchObject({ provider, status: 'active', userId: user.id });
      expect(JSON.stringify(completed.body)).not.toMatch(/token/i);
      const calendars = await t.api.get(`/api/v1/users/${user.id}/credentials/${completed.body.id}/calendars`).expect(200);
      expect(calendars.body.some((c: { primary: boolean }) => c.primary)).toBe(true);

      // A code completes once; the state is single-use.
      const again = await t.api.post('/api/v1/integrations/oauth/complete').send({ code, userId: user.id }).expect(400);
      expect(again.body.detail).toMatch(/unknown or was already used/);
      const replayed = await callback(back);
      expect(Object.fromEntries(replayed.searchParams)).toMatchObject({ status: 'error', error: 'invalid_state' });
      expect(await credentialsOf(user.id)).toHaveLength(1);
    });

    it('a link forwarded to someone else: consented by B, completed by the host for B → 403, nothing stored for A or B', async () => {
      const a = await newUser('alice', provider);
      const b = await newUser('bob', provider);
      const before = await storedCredentials();
      const authorize = await start(provider, a.id, a.email);
      // A forwards the link; B opens it and signs in as B at the provider.
      emulator(provider).consent.nextConsent({ account: b.email });
      const landed = await callback(await consent(provider, authorize));
      expect(landed.searchParams.get('status')).toBe('pending');
      const code = landed.searchParams.get('code')!;
      // B's browser returns to the host app, where B is signed in: the host completes for B.
      const refused = await t.api.post('/api/v1/integrations/oauth/complete').send({ code, userId: b.id }).expect(403);
      expect(refused.body.detail).toMatch(/started for another user/);
      expect(await credentialsOf(a.id)).toEqual([]);
      expect(await credentialsOf(b.id)).toEqual([]);
      // The code is spent: it cannot be completed for A afterwards either.
      await t.api.post('/api/v1/integrations/oauth/complete').send({ code, userId: a.id }).expect(400);
      expect(await credentialsOf(a.id)).toEqual([]);
      expect(await storedCredentials()).toBe(before);
    });

    it('refuses an expired code, and stores nothing', async () => {
      const user = await newUser('late', provider);
      const landed = await callback(await consent(provider, await start(provider, user.id, user.email)));
      const code = landed.searchParams.get('code')!;
      await t.dataSource.query(
        `UPDATE "OAuthFlow" SET "codeExpiresAt" = clock_timestamp() - interval '1 second' WHERE "userId" = $1`,
        [user.id],
      );
      const expired = await t.api.post('/api/v1/integrations/oauth/complete').send({ code, userId: user.id }).expect(400);
      expect(expired.body.detail).toMatch(/expired/);
      expect(await credentialsOf(user.id)).toEqual([]);
      // Its sealed tokens are dropped with it.
      const rows = await t.dataSource.query(`SELECT "sealedTokens" FROM "OAuthFlow" WHERE "userId" = $1`, [user.id]);
      expect(rows).toEqual([{ sealedTokens: null }]);
    });

    it('an expired state redirects with an error and stores nothing', async () => {
      const user = await newUser('slow', provider);
      const authorize = await start(provider, user.id, user.email);
      await t.dataSource.query(
        `UPDATE "OAuthFlow" SET "stateExpiresAt" = clock_timestamp() - interval '1 second' WHERE "userId" = $1`,
        [user.id],
      );
      const landed = await callback(await consent(provider, authorize));
      expect(Object.fromEntries(landed.searchParams)).toMatchObject({ status: 'error', error: 'expired_state' });
      expect(landed.searchParams.has('code')).toBe(false);
    });

    it('the user unticks calendar access on the consent screen: error redirect insufficient_scope, nothing stored', async () => {
      const user = await newUser('stingy', provider);
      const authorize = await start(provider, user.id, user.email);
      emulator(provider).consent.nextConsent({
        // Google: keep read-only, untick event writes. Microsoft: grant nothing of Graph.
        grantScopes: provider === 'google_calendar' ? ['https://www.googleapis.com/auth/calendar.readonly'] : [],
      });
      const landed = await callback(await consent(provider, authorize));
      expect(Object.fromEntries(landed.searchParams)).toMatchObject({ status: 'error', error: 'insufficient_scope' });
      expect(landed.searchParams.has('code')).toBe(false);
      expect(await credentialsOf(user.id)).toEqual([]);
      const rows = await t.dataSource.query(`SELECT "sealedTokens", "codeHash" FROM "OAuthFlow" WHERE "userId" = $1`, [user.id]);
      expect(rows).toEqual([{ sealedTokens: null, codeHash: null }]);
    });

    it('the user cancels consent: error redirect access_denied', async () => {
      const user = await newUser('shy', provider);
      const authorize = await start(provider, user.id, user.email);
      emulator(provider).consent.nextConsent({ deny: true });
      const landed = await callback(await consent(provider, authorize));
      expect(Object.fromEntries(landed.searchParams)).toMatchObject({ status: 'error', error: 'access_denied' });
      expect(await credentialsOf(user.id)).toEqual([]);
    });

    it('PKCE: the provider refuses the code without the right verifier (a stolen code is useless)', async () => {
      const user = await newUser('pkce', provider);
      const authorize = await start(provider, user.id, user.email);
      const challenge = authorize.searchParams.get('code_challenge')!;
      const back = await consent(provider, authorize);
      const stolen = back.searchParams.get('code')!;
      const wrongVerifier = 'x'.repeat(43);
      expect(createHash('sha256').update(wrongVerifier).digest('base64url')).not.toBe(challenge);
      const clientId = provider === 'google_calendar' ? t.config.google.clientId : t.config.microsoft.clientId;
      const clientSecret = provider === 'google_calendar' ? t.config.google.clientSecret : t.config.microsoft.clientSecret;
      const exchange = await raw(emulator(provider).tokenUrl, {
        method: 'POST',
        ca: emulator(provider).ca,
        form: {
          grant_type: 'authorization_code',
          code: stolen,
          redirect_uri: authorize.searchParams.get('redirect_uri')!,
          client_id: clientId,
          client_secret: clientSecret,
          code_verifier: wrongVerifier,
        },
      });
      expect(exchange.status).toBe(400);
      expect(JSON.parse(exchange.body)).toMatchObject({ error: 'invalid_grant' });
      // The code is spent at the provider: calsync's own callback with it fails, and stores nothing.
      const landed = await callback(back);
      expect(Object.fromEntries(landed.searchParams)).toMatchObject({ status: 'error', error: 'exchange_failed' });
      expect(await credentialsOf(user.id)).toEqual([]);
    });

    it('the older GET …/oauth/authorize starts the same flow (302 to the provider); its callback stores nothing by itself', async () => {
      const user = await newUser('legacy', provider);
      const redirect = await t.api
        .get(`/api/v1/integrations/${provider}/oauth/authorize`)
        .query({ userId: user.id, loginHint: user.email, returnUrl: RETURN_URL })
        .expect(302);
      const authorize = new URL(redirect.headers.location as string);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      if (provider === 'office365_calendar') {
        expect(authorize.searchParams.get('client_id')).toBe(t.config.microsoft.clientId);
        expect(authorize.searchParams.get('scope')?.split(' ')).toEqual(
          expect.arrayContaining(['offline_access', 'Calendars.ReadWrite']),
        );
      } else {
        expect(authorize.searchParams.get('access_type')).toBe('offline');
      }
      const landed = await callback(await consent(provider, authorize));
      expect(await credentialsOf(user.id)).toEqual([]);
      const code = landed.searchParams.get('code')!;
      await t.api.post('/api/v1/integrations/oauth/complete').send({ code, userId: user.id }).expect(201);
      expect(await credentialsOf(user.id)).toHaveLength(1);
      // Without a returnUrl there is nowhere to hand the code back: refused.
      await t.api.get(`/api/v1/integrations/${provider}/oauth/authorize`).query({ userId: user.id }).expect(400);
    });
  });

  it('refuses a returnUrl outside OAUTH_RETURN_URLS, unknown users and providers, and bad callbacks', async () => {
    const user = await newUser('strict', 'google_calendar');
    for (const returnUrl of [
      'https://evil.example.com/oauth/done',
      'https://host.example.com.evil.test/oauth/done',
      'https://host.example.com/other/done',
      'https://attacker@host.example.com/oauth/done',
      'http://localhost:51730',
      'http://localhost:5173@evil.test',
      'javascript:alert(1)',
      'not a url',
    ]) {
      const refused = await t.api
        .post('/api/v1/integrations/google_calendar/oauth/start')
        .send({ userId: user.id, returnUrl })
        .expect(400);
      expect(refused.body.detail).toMatch(/OAUTH_RETURN_URLS/);
    }
    // The bare origin listed (http://localhost:5173) allows its own paths and the origin itself.
    for (const returnUrl of ['http://localhost:5173/connected', 'http://localhost:5173', 'http://localhost:5173/']) {
      await t.api.post('/api/v1/integrations/google_calendar/oauth/start').send({ userId: user.id, returnUrl }).expect(200);
    }
    await t.api
      .post('/api/v1/integrations/google_calendar/oauth/start')
      .send({ userId: 987654, returnUrl: RETURN_URL })
      .expect(404);
    await t.api.post('/api/v1/integrations/yahoo/oauth/start').send({ userId: user.id, returnUrl: RETURN_URL }).expect(400);
    await t.api.post('/api/v1/integrations/google_calendar/oauth/start').send({ returnUrl: RETURN_URL }).expect(400);
    await t.http
      .post('/api/v1/integrations/google_calendar/oauth/start')
      .send({ userId: user.id, returnUrl: RETURN_URL })
      .expect(401);
    await t.http.post('/api/v1/integrations/oauth/complete').send({ code: 'x', userId: user.id }).expect(401);
    await t.api.post('/api/v1/integrations/oauth/complete').send({ code: 'made-up', userId: user.id }).expect(400);
    // A state calsync never issued (or none): 400, no redirect anywhere.
    await t.http.get('/api/v1/integrations/google_calendar/oauth/callback').query({ code: 'c', state: 'forged' }).expect(400);
    await t.http.get('/api/v1/integrations/google_calendar/oauth/callback').query({ code: 'c' }).expect(400);
    // A state issued for Google does not open the Outlook callback.
    const google = await start('google_calendar', user.id);
    await t.http
      .get('/api/v1/integrations/office365_calendar/oauth/callback')
      .query({ code: 'c', state: google.searchParams.get('state') })
      .expect(400);
  });

  it('a query key given twice is a 400 naming it, on the callback and on authorize, and starts nothing', async () => {
    const user = await newUser('twice', 'google_calendar');
    const flows = async () => Number((await t.dataSource.query(`SELECT count(*)::int AS n FROM "OAuthFlow"`))[0].n as number);
    const before = await flows();
    const google = await start('google_calendar', user.id);
    const state = google.searchParams.get('state')!;
    const twice = await t.http
      .get(`/api/v1/integrations/google_calendar/oauth/callback?code=c&state=${state}&state=${state}`)
      .expect(400);
    expect(twice.body.detail).toMatch(/"state" must be given once/);
    expect(twice.headers['content-type']).toMatch(/application\/problem\+json/);
    await t.http.get(`/api/v1/integrations/google_calendar/oauth/callback?code=a&code=b&state=${state}`).expect(400);
    // The state was not spent by the refused callbacks: the real one still completes.
    const landed = await callback(await consent('google_calendar', google));
    expect(landed.searchParams.get('status')).toBe('pending');
    const authorize = await t.api
      .get('/api/v1/integrations/google_calendar/oauth/authorize')
      .query(`userId=${user.id}&returnUrl=${encodeURIComponent(RETURN_URL)}&returnUrl=${encodeURIComponent(RETURN_URL)}`)
      .expect(400);
    expect(authorize.body.detail).toMatch(/"returnUrl" must be given once/);
    await t.api
      .get('/api/v1/integrations/google_calendar/oauth/authorize')
      .query(`userId=${user.id}&returnUrl=${encodeURIComponent(RETURN_URL)}&loginHint=a&loginHint=b`)
      .expect(400);
    expect(await flows()).toBe(before + 1);
  });

  it('two callbacks with the same state at once: one code, one error', async () => {
    const user = await newUser('race', 'google_calendar');
    const back = await consent('google_calendar', await start('google_calendar', user.id, user.email));
    const answers = await Promise.all([callback(back), callback(back)]);
    const statuses = answers.map((a) => a.searchParams.get('status')).sort();
    expect(statuses).toEqual(['error', 'pending']);
  });
});
