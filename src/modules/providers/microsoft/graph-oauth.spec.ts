import { isProviderError } from '../provider.errors.js';
import type { FetchLike, HttpRequestInit } from './graph-http.js';
import { GraphOAuthClient, graphAuthorizeUrl, missingGraphScopes } from './graph-oauth.js';

const settings = {
  clientId: 'client-123',
  clientSecret: 'secret-456',
  tokenUrl: 'https://login.example.test/common/oauth2/v2.0/token',
  oauthAuthorizeUrl: 'https://login.example.test/common/oauth2/v2.0/authorize',
};

describe('graphAuthorizeUrl', () => {
  it('asks for a code with offline access to calendars', () => {
    const url = new URL(graphAuthorizeUrl(settings, 'https://calsync.example.com/callback', 'state-1', 'alice@example.com'));
    expect(`${url.origin}${url.pathname}`).toBe(settings.oauthAuthorizeUrl);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'client-123',
      response_type: 'code',
      redirect_uri: 'https://calsync.example.com/callback',
      response_mode: 'query',
      scope: 'offline_access Calendars.ReadWrite',
      state: 'state-1',
      login_hint: 'alice@example.com',
      prompt: 'select_account',
    });
  });

  it('carries the PKCE S256 challenge when given', () => {
    const url = new URL(
      graphAuthorizeUrl(settings, 'https://calsync.example.com/callback', 'state-3', undefined, 'challenge-xyz'),
    );
    expect(url.searchParams.get('code_challenge')).toBe('challenge-xyz');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  });

  it('leaves login_hint out when none is given', () => {
    const url = new URL(graphAuthorizeUrl(settings, 'https://calsync.example.com/callback', 'state-2'));
    expect(url.searchParams.has('login_hint')).toBe(false);
    expect(url.searchParams.get('state')).toBe('state-2');
  });
});

describe('missingGraphScopes', () => {
  it('names the calendar scope the token answer lacks, in any case or with the Graph prefix', () => {
    expect(missingGraphScopes(undefined)).toEqual([]);
    expect(missingGraphScopes('openid profile email User.Read')).toEqual(['Calendars.ReadWrite']);
    expect(missingGraphScopes('')).toEqual(['Calendars.ReadWrite']);
    expect(missingGraphScopes('calendars.readwrite')).toEqual([]);
    expect(missingGraphScopes('https://graph.microsoft.com/Calendars.ReadWrite User.Read')).toEqual([]);
  });

  it('sends the PKCE verifier with the code and reports unticked scopes', async () => {
    const calls: string[] = [];
    const fetch: FetchLike = async (_url, init) => {
      calls.push(String(init?.body));
      return new Response(JSON.stringify({ access_token: 'at', refresh_token: 'rt', expires_in: 60, scope: 'User.Read' }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    const grant = await new GraphOAuthClient(settings, fetch).exchangeCode('code-2', 'https://app/cb', 'verifier-1');
    expect(new URLSearchParams(calls[0]).get('code_verifier')).toBe('verifier-1');
    expect(grant.missingScopes).toEqual(['Calendars.ReadWrite']);
  });
});

describe('GraphOAuthClient', () => {
  const NOW = 1_800_000_000_000;

  function fakeFetch(status: number, body: unknown, headers: Record<string, string> = {}) {
    const calls: Array<{ url: string; init: HttpRequestInit | undefined }> = [];
    const fetch: FetchLike = async (url, init) => {
      calls.push({ url, init });
      return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
    };
    return { fetch, calls, form: () => new URLSearchParams(String(calls[0]?.init?.body)) };
  }

  it('exchanges a code with a form post', async () => {
    const fake = fakeFetch(200, { access_token: 'at', refresh_token: 'rt', expires_in: 3599, token_type: 'Bearer' });
    const tokens = await new GraphOAuthClient(settings, fake.fetch, () => NOW).exchangeCode('code-1', 'https://app/cb');
    expect(tokens).toEqual({ accessToken: 'at', refreshToken: 'rt', expiresAt: NOW + 3_599_000, missingScopes: [] });
    expect(fake.calls[0]?.url).toBe(settings.tokenUrl);
    expect(fake.calls[0]?.init?.method).toBe('POST');
    expect(fake.calls[0]?.init?.headers).toMatchObject({ 'content-type': 'application/x-www-form-urlencoded' });
    expect(Object.fromEntries(fake.form())).toEqual({
      client_id: 'client-123',
      client_secret: 'secret-456',
      grant_type: 'authorization_code',
      code: 'code-1',
      redirect_uri: 'https://app/cb',
      scope: 'offline_access Calendars.ReadWrite',
    });
  });

  it('refuses a code exchange without a refresh token, naming offline_access', async () => {
    const fake = fakeFetch(200, { access_token: 'at', expires_in: 3600 });
    const error = await new GraphOAuthClient(settings, fake.fetch).exchangeCode('c', 'https://app/cb').catch((e: unknown) => e);
    expect(isProviderError(error, 'bad_request')).toBe(true);
    expect((error as Error).message).toContain('offline_access');
  });

  it('reports a used code as a bad request, not a revoked grant', async () => {
    const fake = fakeFetch(400, { error: 'invalid_grant', error_description: 'AADSTS54005: code already redeemed' });
    const error = await new GraphOAuthClient(settings, fake.fetch).exchangeCode('c', 'https://app/cb').catch((e: unknown) => e);
    expect(isProviderError(error, 'bad_request')).toBe(true);
  });

  it('refreshes, taking the rotated refresh token, or keeping the old one when none comes back', async () => {
    const rotated = fakeFetch(200, { access_token: 'at2', refresh_token: 'rt2', expires_in: '3600' });
    expect(await new GraphOAuthClient(settings, rotated.fetch, () => NOW).refresh('rt1')).toEqual({
      accessToken: 'at2',
      refreshToken: 'rt2',
      expiresAt: NOW + 3_600_000,
    });
    expect(Object.fromEntries(rotated.form())).toMatchObject({ grant_type: 'refresh_token', refresh_token: 'rt1' });

    const kept = fakeFetch(200, { access_token: 'at3', expires_in: 3600 });
    expect((await new GraphOAuthClient(settings, kept.fetch, () => NOW).refresh('rt1')).refreshToken).toBe('rt1');
  });

  it('classifies refresh failures', async () => {
    const revoked = fakeFetch(400, { error: 'invalid_grant', error_description: 'AADSTS50173: revoked' });
    expect(
      isProviderError(await new GraphOAuthClient(settings, revoked.fetch).refresh('rt').catch((e: unknown) => e), 'auth_revoked'),
    ).toBe(true);
    const throttled = fakeFetch(429, { error: 'temporarily_unavailable' }, { 'retry-after': '4' });
    const error = await new GraphOAuthClient(settings, throttled.fetch).refresh('rt').catch((e: unknown) => e);
    expect(isProviderError(error, 'rate_limited')).toBe(true);
    expect((error as { retryAfterMs: number }).retryAfterMs).toBe(4000);
    const down: FetchLike = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    expect(isProviderError(await new GraphOAuthClient(settings, down).refresh('rt').catch((e: unknown) => e), 'transient')).toBe(
      true,
    );
  });
});
