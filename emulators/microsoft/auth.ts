import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { newGuid, opaqueToken } from './ids.js';

/**
 * Accounts and the OAuth grants that reach them, as the Microsoft identity platform (v2.0 endpoint) hands
 * them out: opaque tokens, a new refresh token on every refresh while the old one keeps working (as
 * documented), refresh tokens only with offline_access, PKCE, single-use codes. Revoking a refresh token
 * revokes its whole grant (every refresh token minted from the same consent, and their access tokens), as
 * revoking app consent does.
 */

const GRAPH_PREFIX = 'https://graph.microsoft.com/';
const IDENTITY_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const GRAPH_DEFAULT_SCOPES = ['User.Read', 'Calendars.ReadWrite'];
export const DEFAULT_SCOPE = [...IDENTITY_SCOPES, ...GRAPH_DEFAULT_SCOPES].join(' ');
const CODE_TTL_MS = 10 * 60_000;
const READ_SCOPES = [
  'calendars.read',
  'calendars.readwrite',
  'calendars.read.shared',
  'calendars.readwrite.shared',
  'calendars.readbasic',
];
const WRITE_SCOPES = ['calendars.readwrite', 'calendars.readwrite.shared'];

export interface Account {
  email: string;
  userId: string;
  displayName: string;
  timeZone: string;
}

interface Grant {
  email: string;
  scopes: string[];
  revoked: boolean;
}

interface AccessGrant {
  email: string;
  grantId: string;
  scopes: string[];
  expiresAt: number;
}

interface AuthCode {
  email: string;
  scopes: string[];
  clientId: string;
  redirectUri: string;
  challenge?: string;
  challengeMethod?: string;
  expiresAt: number;
  redeemed: boolean;
}

export interface AuthSnapshot {
  accounts: Account[];
  grants: Array<[string, Grant]>;
  refreshTokens: Array<[string, string]>;
  accessTokens: Array<[string, AccessGrant]>;
  codes: Array<[string, AuthCode]>;
}

export type TokenFailure = { ok: false; status: number; body: Record<string, unknown> };
export type TokenResult = { ok: true; body: Record<string, unknown> } | TokenFailure;

export type Authenticated = { ok: true; email: string; scopes: string[] } | { ok: false; message: string };

export class AuthState {
  /** By lower-cased email: Exchange addresses are case-insensitive. */
  readonly accounts = new Map<string, Account>();
  private readonly grants = new Map<string, Grant>();
  /** Refresh token → grant id. */
  private readonly refreshTokens = new Map<string, string>();
  private readonly accessTokens = new Map<string, AccessGrant>();
  private readonly codes = new Map<string, AuthCode>();
  /** Signs id_tokens (ES256); nobody can verify them against Microsoft's keys anyway, but they decode. */
  private readonly idTokenKey: KeyObject = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

  constructor(
    private readonly accessTtlSeconds: number,
    private readonly tenantId: () => string,
  ) {}

  reset(): void {
    this.accounts.clear();
    this.grants.clear();
    this.refreshTokens.clear();
    this.accessTokens.clear();
    this.codes.clear();
  }

  account(email: string): Account | undefined {
    return this.accounts.get(email.toLowerCase());
  }

  /** Registers the account if new; given tokens are added to it either way (a second device, say). */
  ensureAccount(input: { email: string; refreshToken?: string; accessToken?: string; timeZone: string }): {
    account: Account;
    created: boolean;
    refreshToken: string;
    accessToken: string;
  } {
    let account = this.account(input.email);
    const created = !account;
    if (!account) {
      const local = input.email.split('@')[0];
      account = {
        email: input.email,
        userId: newGuid(),
        displayName: local.charAt(0).toUpperCase() + local.slice(1),
        timeZone: input.timeZone,
      };
      this.accounts.set(input.email.toLowerCase(), account);
    }
    if (input.refreshToken !== undefined) {
      const grantId = this.refreshTokens.get(input.refreshToken);
      if (grantId !== undefined && this.grants.get(grantId)?.email !== account.email) {
        throw new Error('refresh token already belongs to another account');
      }
    }
    const grantId = newGuid();
    this.grants.set(grantId, { email: account.email, scopes: DEFAULT_SCOPE.split(' '), revoked: false });
    const refreshToken = input.refreshToken ?? opaqueToken('M.C-emu-rt.');
    this.refreshTokens.set(refreshToken, grantId);
    const accessToken = input.accessToken ?? opaqueToken('EwB-emu-at.', 48);
    this.accessTokens.set(accessToken, this.accessGrant(account.email, grantId, DEFAULT_SCOPE.split(' ')));
    return { account, created, refreshToken, accessToken };
  }

  authenticate(accessToken: string | undefined): Authenticated {
    if (!accessToken) return { ok: false, message: 'Access token is empty.' };
    const grant = this.accessTokens.get(accessToken);
    if (!grant) return { ok: false, message: 'Access token validation failure. Invalid audience.' };
    if (grant.expiresAt <= Date.now()) return { ok: false, message: 'Lifetime validation failed, the token is expired.' };
    if (this.grants.get(grant.grantId)?.revoked || !this.account(grant.email)) {
      return { ok: false, message: 'Access token validation failure.' };
    }
    return { ok: true, email: grant.email, scopes: grant.scopes };
  }

  /** Revoking a refresh token revokes the consent it came from: all its refresh and access tokens. */
  revokeRefreshToken(refreshToken: string): void {
    const grantId = this.refreshTokens.get(refreshToken);
    const grant = grantId === undefined ? undefined : this.grants.get(grantId);
    if (!grant) throw new Error('unknown refresh token');
    grant.revoked = true; // authenticate() refuses the grant's access tokens from now on
  }

  expireAccessTokens(): void {
    const now = Date.now();
    for (const grant of this.accessTokens.values()) grant.expiresAt = Math.min(grant.expiresAt, now);
  }

  createCode(input: {
    email: string;
    scope: string | undefined;
    limit: string[] | undefined;
    clientId: string;
    redirectUri: string;
    challenge?: string;
    challengeMethod?: string;
  }): string {
    const code = opaqueToken('M.C-emu-code.', 24);
    this.codes.set(code, {
      email: this.account(input.email)?.email ?? input.email,
      scopes: grantedScopes(input.scope, input.limit),
      clientId: input.clientId,
      redirectUri: input.redirectUri,
      challenge: input.challenge,
      challengeMethod: input.challengeMethod,
      expiresAt: Date.now() + CODE_TTL_MS,
      redeemed: false,
    });
    return code;
  }

  exchange(form: Record<string, string>): TokenResult {
    for (const param of ['client_id', 'grant_type']) {
      if (!form[param])
        return aadError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${param}'.`);
    }
    switch (form.grant_type) {
      case 'refresh_token': {
        if (!form.refresh_token)
          return aadError(
            400,
            'invalid_request',
            900144,
            "The request body must contain the following parameter: 'refresh_token'.",
          );
        const grantId = this.refreshTokens.get(form.refresh_token);
        const grant = grantId === undefined ? undefined : this.grants.get(grantId);
        if (!grant || grantId === undefined)
          return aadError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
        if (grant.revoked || !this.account(grant.email)) {
          return aadError(
            400,
            'invalid_grant',
            70000,
            'The request was denied because one or more scopes requested are unauthorized or expired. The user must first sign in and grant the client application access to the requested scope.',
          );
        }
        return { ok: true, body: this.mint(grantId, grant, form.client_id) };
      }
      case 'authorization_code': {
        if (!form.code)
          return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'code'.");
        const code = this.codes.get(form.code);
        if (!code) return aadError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
        if (code.redeemed) {
          return aadError(
            400,
            'invalid_grant',
            54005,
            'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
          );
        }
        code.redeemed = true; // single use, even when the exchange fails
        if (code.expiresAt <= Date.now()) {
          return aadError(
            400,
            'invalid_grant',
            70008,
            'The provided authorization code or refresh token has expired due to inactivity.',
          );
        }
        if (form.redirect_uri !== code.redirectUri) {
          return aadError(
            400,
            'invalid_grant',
            50011,
            `The redirect URI '${form.redirect_uri ?? ''}' specified in the request does not match the one used to get the code.`,
          );
        }
        if (form.client_id !== code.clientId)
          return aadError(400, 'invalid_grant', 70000, 'The code was issued to another client.');
        if (code.challenge !== undefined && !pkceMatches(code.challenge, code.challengeMethod, form.code_verifier)) {
          return aadError(
            400,
            'invalid_grant',
            501481,
            'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
          );
        }
        const grantId = newGuid();
        const grant: Grant = { email: code.email, scopes: code.scopes, revoked: false };
        this.grants.set(grantId, grant);
        return { ok: true, body: this.mint(grantId, grant, form.client_id) };
      }
      default:
        return aadError(
          400,
          'unsupported_grant_type',
          70003,
          `The app requested an unsupported grant type '${form.grant_type}'.`,
        );
    }
  }

  snapshot(): AuthSnapshot {
    return structuredClone({
      accounts: [...this.accounts.values()],
      grants: [...this.grants],
      refreshTokens: [...this.refreshTokens],
      accessTokens: [...this.accessTokens],
      codes: [...this.codes],
    });
  }

  restore(s: AuthSnapshot): void {
    this.reset();
    for (const a of s.accounts) this.accounts.set(a.email.toLowerCase(), { ...a });
    for (const [k, v] of s.grants) this.grants.set(k, structuredClone(v));
    for (const [k, v] of s.refreshTokens) this.refreshTokens.set(k, v);
    for (const [k, v] of s.accessTokens) this.accessTokens.set(k, structuredClone(v));
    for (const [k, v] of s.codes) this.codes.set(k, structuredClone(v));
  }

  private accessGrant(email: string, grantId: string, scopes: string[]): AccessGrant {
    return { email, grantId, scopes, expiresAt: Date.now() + this.accessTtlSeconds * 1000 };
  }

  private mint(grantId: string, grant: Grant, clientId: string): Record<string, unknown> {
    const accessToken = opaqueToken('EwB-emu-at.', 48);
    this.accessTokens.set(accessToken, this.accessGrant(grant.email, grantId, grant.scopes));
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: grant.scopes.filter((s) => s !== 'offline_access').join(' '),
      expires_in: this.accessTtlSeconds,
      ext_expires_in: this.accessTtlSeconds,
      access_token: accessToken,
    };
    if (grant.scopes.includes('offline_access')) {
      const refreshToken = opaqueToken('M.C-emu-rt.');
      this.refreshTokens.set(refreshToken, grantId);
      body.refresh_token = refreshToken;
    }
    const account = this.account(grant.email);
    if (grant.scopes.includes('openid') && account) body.id_token = this.idToken(account, clientId);
    return body;
  }

  private idToken(account: Account, clientId: string): string {
    const now = Math.floor(Date.now() / 1000);
    const tid = this.tenantId();
    const header = { typ: 'JWT', alg: 'ES256', kid: 'calsync-emulator' };
    const claims = {
      aud: clientId,
      iss: `https://login.microsoftonline.com/${tid}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      name: account.displayName,
      oid: account.userId,
      preferred_username: account.email,
      email: account.email,
      sub: createHash('sha256').update(`${account.userId}:${clientId}`).digest('base64url').slice(0, 43),
      tid,
      ver: '2.0',
    };
    const data = `${b64(header)}.${b64(claims)}`;
    const sig = sign('sha256', Buffer.from(data), { key: this.idTokenKey, dsaEncoding: 'ieee-p1363' });
    return `${data}.${sig.toString('base64url')}`;
  }
}

/** What an access token may do with calendars: read needs any Calendars.* scope, write a ReadWrite one. */
export function allows(scopes: string[], need: 'read' | 'write' | 'none'): boolean {
  if (need === 'none') return true;
  const wanted = need === 'write' ? WRITE_SCOPES : READ_SCOPES;
  return scopes.some((s) => wanted.includes(s.toLowerCase()));
}

/** Requested scopes without the Graph resource prefix, `.default` expanded, cut down by limitGrantedScopes. */
export function grantedScopes(scope: string | undefined, limit: string[] | undefined): string[] {
  const requested = (scope && scope.trim() ? scope : DEFAULT_SCOPE)
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => (s.toLowerCase().startsWith(GRAPH_PREFIX) ? s.slice(GRAPH_PREFIX.length) : s))
    .flatMap((s) => (s === '.default' ? GRAPH_DEFAULT_SCOPES : [s]));
  const allowed = limit?.map((s) => s.toLowerCase());
  const out: string[] = [];
  for (const s of requested) {
    const identity = IDENTITY_SCOPES.includes(s.toLowerCase());
    if (!identity && allowed && !allowed.includes(s.toLowerCase())) continue;
    if (!out.some((o) => o.toLowerCase() === s.toLowerCase())) out.push(s);
  }
  return out;
}

function pkceMatches(challenge: string, method: string | undefined, verifier: string | undefined): boolean {
  if (!verifier) return false;
  if ((method ?? 'plain').toUpperCase() === 'S256')
    return createHash('sha256').update(verifier).digest('base64url') === challenge;
  return verifier === challenge;
}

/** The identity platform's error body: the AADSTS code leads the description, and error_codes repeats it. */
export function aadError(status: number, error: string, code: number, text: string): TokenFailure {
  const traceId = newGuid();
  const correlationId = newGuid();
  const timestamp = new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  return {
    ok: false,
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
