import type { MicrosoftConfig } from '../../../config/app-config.js';
import type { AuthorizationGrant, ProviderTokens } from '../provider-auth.js';
import { ProviderError } from '../provider.errors.js';
import { type OAuthErrorBody, toOAuthProviderError } from './graph-errors.js';
import type { FetchLike } from './graph-http.js';

/** `offline_access` is what makes the token endpoint return a refresh token. */
export const GRAPH_SCOPES = ['offline_access', 'Calendars.ReadWrite'];

const TOKEN_TIMEOUT_MS = 15_000;

type OAuthSettings = Pick<MicrosoftConfig, 'clientId' | 'clientSecret' | 'tokenUrl' | 'oauthAuthorizeUrl'>;

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number | string;
  /** The scopes granted, space-separated (without `offline_access`). */
  scope?: string;
}

/** What the calendar needs of GRAPH_SCOPES (offline_access shows as the refresh token instead). */
const GRAPH_CALENDAR_SCOPES = ['Calendars.ReadWrite'];
const GRAPH_RESOURCE = 'https://graph.microsoft.com/';

/**
 * The calendar scopes the token response's `scope` lacks: the consent screen may grant less than
 * asked. Graph may answer scopes with its resource prefix, and case varies. No `scope`: all granted.
 */
export function missingGraphScopes(granted: string | undefined): string[] {
  if (granted === undefined) return [];
  const scopes = new Set(
    granted
      .split(/\s+/)
      .filter(Boolean)
      .map((s) => (s.toLowerCase().startsWith(GRAPH_RESOURCE) ? s.slice(GRAPH_RESOURCE.length) : s).toLowerCase()),
  );
  return GRAPH_CALENDAR_SCOPES.filter((scope) => !scopes.has(scope.toLowerCase()));
}

/** Where to send the user to grant calendar access (Microsoft identity platform v2, auth code flow). */
export function graphAuthorizeUrl(
  settings: OAuthSettings,
  redirectUri: string,
  state: string,
  loginHint?: string,
  codeChallenge?: string,
): string {
  const url = new URL(settings.oauthAuthorizeUrl);
  url.search = new URLSearchParams({
    client_id: settings.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    response_mode: 'query',
    scope: GRAPH_SCOPES.join(' '),
    state,
    prompt: 'select_account',
    ...(loginHint ? { login_hint: loginHint } : {}),
    ...(codeChallenge ? { code_challenge: codeChallenge, code_challenge_method: 'S256' } : {}),
  }).toString();
  return url.toString();
}

/**
 * The token endpoint (`MICROSOFT_TOKEN_URL`): form posts, client secret in the body. Microsoft
 * rotates refresh tokens, so a refresh answer's `refresh_token` replaces the old one (kept when
 * the answer carries none).
 */
export class GraphOAuthClient {
  constructor(
    private readonly settings: OAuthSettings,
    private readonly fetch: FetchLike,
    private readonly now: () => number = Date.now,
  ) {}

  async exchangeCode(code: string, redirectUri: string, codeVerifier?: string): Promise<AuthorizationGrant> {
    try {
      const answer = await this.post('oauth.token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        scope: GRAPH_SCOPES.join(' '),
        ...(codeVerifier ? { code_verifier: codeVerifier } : {}),
      });
      if (!answer.refresh_token) {
        throw new ProviderError(
          'office365_calendar',
          'bad_request',
          'Microsoft returned no refresh token: the consent must include the offline_access scope; connect again',
        );
      }
      return { ...this.tokens(answer, answer.refresh_token), missingScopes: missingGraphScopes(answer.scope) };
    } catch (error) {
      // A used, expired or foreign code is a bad request of this flow, not a revoked credential.
      if (error instanceof ProviderError && error.kind === 'auth_revoked') {
        throw new ProviderError('office365_calendar', 'bad_request', error.message, error.status);
      }
      throw error;
    }
  }

  async refresh(refreshToken: string): Promise<ProviderTokens> {
    const answer = await this.post('oauth.refresh', {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      scope: GRAPH_SCOPES.join(' '),
    });
    return this.tokens(answer, answer.refresh_token || refreshToken);
  }

  private tokens(answer: TokenResponse & { access_token: string }, refreshToken: string): ProviderTokens {
    const expiresIn = Number(answer.expires_in);
    return {
      accessToken: answer.access_token,
      refreshToken,
      expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? this.now() + expiresIn * 1000 : null,
    };
  }

  private async post(operation: string, fields: Record<string, string>): Promise<TokenResponse & { access_token: string }> {
    const form = new URLSearchParams({ client_id: this.settings.clientId, client_secret: this.settings.clientSecret, ...fields });
    let response: Response;
    try {
      response = await this.fetch(this.settings.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        // GraphHttp has its own timeout; this one holds when a plain `fetch` is passed in.
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
    } catch (error) {
      throw toOAuthProviderError(operation, null, null, undefined, error);
    }
    const parsed = parseJson(await response.text());
    if (!response.ok) {
      throw toOAuthProviderError(operation, response.status, (parsed ?? null) as OAuthErrorBody | null, response.headers);
    }
    const answer = (parsed ?? {}) as TokenResponse;
    if (typeof answer.access_token !== 'string' || answer.access_token === '') {
      throw new ProviderError(
        'office365_calendar',
        'permanent',
        `Microsoft ${operation} answered without an access token`,
        response.status,
      );
    }
    return answer as TokenResponse & { access_token: string };
  }
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
