import { createHash } from 'node:crypto';
import { opaqueToken } from './ids.js';
import type { AuthSnapshot } from './snapshot.js';

/** Accounts and the OAuth grants that reach them. Tokens are opaque random strings, as Google's are to clients. */

export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
const CODE_TTL_MS = 10 * 60_000;

export interface Account {
  email: string;
  timeZone: string;
}

interface RefreshGrant {
  email: string;
  scope: string;
  revoked: boolean;
}

interface AccessGrant {
  email: string;
  expiresAt: number;
  refreshToken?: string;
}

interface AuthCode {
  email: string;
  scope: string;
  redirectUri?: string;
  /** PKCE (RFC 7636): the authorize request's code_challenge and its method (plain when not given). */
  challenge?: string;
  challengeMethod?: string;
  expiresAt: number;
}

export type TokenResult =
  { ok: true; body: Record<string, unknown> } | { ok: false; status: number; body: { error: string; error_description: string } };

export class AuthState {
  readonly accounts = new Map<string, Account>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  private readonly accessTokens = new Map<string, AccessGrant>();
  private readonly codes = new Map<string, AuthCode>();

  constructor(private readonly accessTtlSeconds: number) {}

  reset(): void {
    this.accounts.clear();
    this.refreshTokens.clear();
    this.accessTokens.clear();
    this.codes.clear();
  }

  /** Everything but expired access tokens and codes, which answer exactly as unknown ones do. */
  snapshot(now = Date.now()): AuthSnapshot {
    return {
      accounts: [...this.accounts.values()].map((a) => ({ ...a })),
      refreshTokens: [...this.refreshTokens].map(([token, grant]) => [token, { ...grant }]),
      accessTokens: [...this.accessTokens].filter(([, g]) => g.expiresAt > now).map(([token, g]) => [token, { ...g }]),
      codes: [...this.codes].filter(([, c]) => c.expiresAt > now).map(([code, c]) => [code, { ...c }]),
    };
  }

  restore(s: AuthSnapshot): void {
    this.reset();
    for (const a of s.accounts) this.accounts.set(a.email, { email: a.email, timeZone: a.timeZone });
    for (const [token, grant] of s.refreshTokens) this.refreshTokens.set(token, { ...grant });
    for (const [token, grant] of s.accessTokens) this.accessTokens.set(token, { ...grant });
    for (const [code, c] of s.codes) this.codes.set(code, { ...c });
  }

  /** Registers the account if new; given tokens are added to it either way (a second device, say). */
  ensureAccount(input: { email: string; refreshToken?: string; accessToken?: string; timeZone?: string }): {
    account: Account;
    created: boolean;
    refreshToken: string;
    accessToken: string;
  } {
    let account = this.accounts.get(input.email);
    const created = !account;
    if (!account) {
      account = { email: input.email, timeZone: input.timeZone ?? 'UTC' };
      this.accounts.set(account.email, account);
    }
    const refreshToken = input.refreshToken ?? opaqueToken('1//emu-');
    const existing = this.refreshTokens.get(refreshToken);
    if (existing && existing.email !== account.email) throw new Error(`refresh token already belongs to ${existing.email}`);
    this.refreshTokens.set(refreshToken, { email: account.email, scope: CALENDAR_SCOPE, revoked: false });
    const accessToken = input.accessToken ?? opaqueToken('ya29.emu-', 32);
    this.accessTokens.set(accessToken, {
      email: account.email,
      expiresAt: Date.now() + this.accessTtlSeconds * 1000,
      refreshToken,
    });
    return { account, created, refreshToken, accessToken };
  }

  /** The account email a bearer token acts for, or undefined when it is unknown, expired or revoked. */
  authenticate(accessToken: string | undefined): string | undefined {
    if (!accessToken) return undefined;
    const grant = this.accessTokens.get(accessToken);
    if (!grant) return undefined;
    if (grant.expiresAt <= Date.now()) {
      this.accessTokens.delete(accessToken);
      return undefined;
    }
    return grant.email;
  }

  /** Revoking a grant also kills the access tokens minted from it, as revoking app access does at Google. */
  revokeRefreshToken(refreshToken: string): void {
    const grant = this.refreshTokens.get(refreshToken);
    if (!grant) throw new Error(`unknown refresh token`);
    grant.revoked = true;
    for (const [token, access] of this.accessTokens) {
      if (access.refreshToken === refreshToken) this.accessTokens.delete(token);
    }
  }

  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  createCode(
    email: string,
    scope: string | undefined,
    redirectUri: string | undefined,
    pkce: { challenge?: string; challengeMethod?: string } = {},
  ): string {
    const code = opaqueToken('4/emu-');
    this.codes.set(code, {
      email,
      // '' when the user unticked every scope; undefined when none was asked for.
      scope: scope ?? CALENDAR_SCOPE,
      redirectUri,
      ...(pkce.challenge ? { challenge: pkce.challenge, challengeMethod: pkce.challengeMethod ?? 'plain' } : {}),
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    return code;
  }

  exchange(form: Record<string, string>): TokenResult {
    switch (form.grant_type) {
      case 'refresh_token': {
        const rt = form.refresh_token;
        if (!rt) return oauthError(400, 'invalid_request', 'Missing required parameter: refresh_token');
        const grant = this.refreshTokens.get(rt);
        if (!grant || grant.revoked || !this.accounts.has(grant.email)) {
          return oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
        }
        return { ok: true, body: this.mint(grant.email, grant.scope, rt, false) };
      }
      case 'authorization_code': {
        const code = form.code ? this.codes.get(form.code) : undefined;
        if (form.code) this.codes.delete(form.code); // single use, even when the exchange fails
        if (!code || code.expiresAt <= Date.now()) return oauthError(400, 'invalid_grant', 'Malformed auth code.');
        if (code.redirectUri && form.redirect_uri && code.redirectUri !== form.redirect_uri) {
          return oauthError(400, 'redirect_uri_mismatch', 'Bad Request');
        }
        // As Google: a code asked for with a code_challenge needs the matching code_verifier.
        if (code.challenge !== undefined) {
          if (!form.code_verifier) return oauthError(400, 'invalid_grant', 'Missing code verifier.');
          if (!pkceMatches(code.challenge, code.challengeMethod, form.code_verifier)) {
            return oauthError(400, 'invalid_grant', 'Invalid code verifier.');
          }
        }
        const rt = opaqueToken('1//emu-');
        this.refreshTokens.set(rt, { email: code.email, scope: code.scope, revoked: false });
        return { ok: true, body: this.mint(code.email, code.scope, rt, true) };
      }
      default:
        return oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${form.grant_type ?? ''}`);
    }
  }

  private mint(email: string, scope: string, refreshToken: string, includeRefresh: boolean): Record<string, unknown> {
    const accessToken = opaqueToken('ya29.emu-', 32);
    this.accessTokens.set(accessToken, { email, expiresAt: Date.now() + this.accessTtlSeconds * 1000, refreshToken });
    const body: Record<string, unknown> = {
      access_token: accessToken,
      expires_in: this.accessTtlSeconds,
      scope,
      token_type: 'Bearer',
    };
    if (includeRefresh) body.refresh_token = refreshToken;
    return body;
  }
}

function pkceMatches(challenge: string, method: string | undefined, verifier: string): boolean {
  if ((method ?? 'plain') === 'S256') return createHash('sha256').update(verifier).digest('base64url') === challenge;
  return verifier === challenge;
}

function oauthError(status: number, error: string, description: string): TokenResult {
  return { ok: false, status, body: { error, error_description: description } };
}
