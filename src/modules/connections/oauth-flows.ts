import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig, type ProviderName } from '../../config/app-config.js';
import { GetUserQuery } from '../accounts/index.js';
import { CalendarProviders } from '../providers/calendar-provider.port.js';
import { ProviderError } from '../providers/provider.errors.js';
import {
  OAuthCodeExpiredError,
  OAuthCodeInvalidError,
  OAuthFlowUserMismatchError,
  OAuthReturnUrlNotAllowedError,
  OAuthStateInvalidError,
  ProviderNotEnabledError,
} from './connections.errors.js';
import { CredentialAuthFactory } from './credential-auth.factory.js';
import { CredentialEntity } from './entities/credential.entity.js';

/** How long a started flow waits for the provider's callback, and a callback's code for completion. */
export const OAUTH_STATE_TTL_MINUTES = 10;
export const OAUTH_CODE_TTL_MINUTES = 10;
/** Finished or abandoned flows are deleted this long after they started. */
const FLOW_RETENTION_HOURS = 24;
/** The additional data a flow's tokens are sealed with until the credential row takes them. */
const oauthFlowContext = (flowId: string) => `oauth-flow:${flowId}`;

/** Why a callback redirects with `status=error`: the `error` parameter the host app reads. */
export type OAuthFlowError =
  | 'access_denied'
  | 'insufficient_scope'
  | 'invalid_state'
  | 'expired_state'
  | 'invalid_request'
  | 'exchange_failed'
  | 'provider_error';

export interface CallbackParams {
  code?: string;
  state?: string;
  error?: string;
}

interface FlowRow {
  id: string;
  userId: number;
  provider: ProviderName;
  returnUrl: string;
}

/**
 * The three-step OAuth flow for host apps (CONTRACT "Host integration"), so that a consent can
 * never land on the wrong user:
 * 1. `start`: the host app (application key) starts a flow for its signed-in user and a returnUrl
 *    under `OAUTH_RETURN_URLS`; calsync stores the flow ("OAuthFlow": a random single-use `state`,
 *    stored hashed, and a PKCE S256 verifier) and answers the provider's consent URL.
 * 2. `callback`: the provider sends the browser back; the state is claimed once (a replay, an
 *    unknown or an expired state stores nothing), the code exchanged with the verifier, the granted
 *    scopes checked; the tokens are kept sealed with a one-time code (stored hashed), and the
 *    browser goes to returnUrl with `status=pending&code=…` (or `status=error&error=…`).
 * 3. `complete`: the host app, which knows who is signed in now, completes the code for that user;
 *    only then is a credential stored, and only if that user is the one the flow was started for.
 *    So a consent link forwarded from user A to user B, consented by B's account and returned to
 *    B's browser, is completed by the host for B: 403, nothing stored for A or B, the code spent.
 */
@Injectable()
export class OAuthFlows {
  private readonly logger = new Logger('OAuthFlows');

  constructor(
    private readonly dataSource: DataSource,
    private readonly queries: QueryBus,
    private readonly providers: CalendarProviders,
    private readonly auth: CredentialAuthFactory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Step 1: the provider URL to send the user's browser to. */
  async start(provider: ProviderName, userId: number, returnUrl: string, loginHint?: string): Promise<{ url: string }> {
    this.assertReturnUrl(returnUrl);
    if (!this.providers.has(provider)) throw new ProviderNotEnabledError(provider);
    await this.queries.execute(new GetUserQuery(userId));
    const state = randomToken();
    const verifier = randomToken();
    await this.dataSource.query(
      `INSERT INTO "OAuthFlow" ("id", "userId", "provider", "returnUrl", "stateHash", "codeVerifier", "stateExpiresAt")
       VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp() + make_interval(mins => $7))`,
      [randomUUID(), userId, provider, returnUrl, hash(state), verifier, OAUTH_STATE_TTL_MINUTES],
    );
    await this.forgetOldFlows();
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    return { url: this.providers.get(provider).authorizeUrl(this.callbackUrl(provider), state, loginHint, challenge) };
  }

  /**
   * Step 2: where to send the browser back to. Throws (400) only when the state is missing or
   * unknown: then no returnUrl is known, and redirecting anywhere else would be an open redirect.
   */
  async callback(provider: ProviderName, params: CallbackParams): Promise<string> {
    if (!params.state) throw new OAuthStateInvalidError();
    const stateHash = hash(params.state);
    const flows: FlowRow[] = await this.dataSource.query(
      `SELECT "id", "userId", "provider", "returnUrl" FROM "OAuthFlow" WHERE "stateHash" = $1 AND "provider" = $2`,
      [stateHash, provider],
    );
    const flow = flows[0];
    if (!flow) throw new OAuthStateInvalidError();
    // Single use: only the first callback with this state gets the verifier.
    // (A CTE, so the driver answers the rows: a bare UPDATE … RETURNING comes back as [rows, count].)
    const claimed: Array<{ codeVerifier: string; live: boolean }> = await this.dataSource.query(
      `WITH claimed AS (
         UPDATE "OAuthFlow" f SET "callbackAt" = clock_timestamp(), "codeVerifier" = NULL
           FROM (SELECT "id", "codeVerifier" FROM "OAuthFlow" WHERE "id" = $1 FOR UPDATE) old
          WHERE f."id" = old."id" AND f."callbackAt" IS NULL
          RETURNING old."codeVerifier" AS "codeVerifier", f."stateExpiresAt" > clock_timestamp() AS "live")
       SELECT * FROM claimed`,
      [flow.id],
    );
    if (claimed.length === 0) return errorRedirect(flow.returnUrl, 'invalid_state');
    const [{ codeVerifier, live }] = claimed;
    if (!live) return this.fail(flow, 'expired_state');
    if (params.error) return this.fail(flow, params.error === 'access_denied' ? 'access_denied' : 'provider_error');
    if (!params.code) return this.fail(flow, 'invalid_request');

    let grant;
    try {
      grant = await this.providers.get(provider).exchangeCode(params.code, this.callbackUrl(provider), codeVerifier);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.logger.warn(`OAuth code exchange with ${provider} failed for flow ${flow.id}: ${error.message}`);
      return this.fail(flow, 'exchange_failed');
    }
    // The user may untick calendar access on the consent screen: such a grant is not stored.
    if (grant.missingScopes.length > 0) return this.fail(flow, 'insufficient_scope');

    const code = randomToken();
    await this.dataSource.query(
      `UPDATE "OAuthFlow"
          SET "codeHash" = $2, "codeExpiresAt" = clock_timestamp() + make_interval(mins => $3),
              "sealedTokens" = $4, "tokenExpiresAt" = $5
        WHERE "id" = $1`,
      [
        flow.id,
        hash(code),
        OAUTH_CODE_TTL_MINUTES,
        this.auth.sealFor(oauthFlowContext(flow.id), {
          accessToken: grant.accessToken,
          refreshToken: grant.refreshToken,
          expiresAt: grant.expiresAt,
        }),
        grant.expiresAt ? new Date(grant.expiresAt) : null,
      ],
    );
    return withParams(flow.returnUrl, { status: 'pending', code });
  }

  /**
   * Step 3: stores the credential for `userId`, once. An unknown or used code is a 400, an expired
   * one too; a code of a flow started for another user is a 403 and is spent (its tokens dropped),
   * so it cannot be completed for anyone afterwards.
   */
  async complete(code: string, userId: number): Promise<CredentialEntity> {
    const outcome = await this.dataSource.transaction(async (manager) => {
      const rows: Array<FlowRow & { sealedTokens: string | null; tokenExpiresAt: Date | null; live: boolean }> =
        await manager.query(
          `SELECT "id", "userId", "provider", "returnUrl", "sealedTokens", "tokenExpiresAt",
                  "codeExpiresAt" > clock_timestamp() AS "live"
             FROM "OAuthFlow"
            WHERE "codeHash" = $1 AND "completedAt" IS NULL AND "failure" IS NULL
            FOR UPDATE`,
          [hash(code)],
        );
      const flow = rows[0];
      if (!flow || !flow.sealedTokens) return { error: new OAuthCodeInvalidError() };
      const spend = (failure: string | null, credentialId: number | null = null) =>
        manager.query(
          `UPDATE "OAuthFlow" SET "completedAt" = clock_timestamp(), "sealedTokens" = NULL, "failure" = $2, "credentialId" = $3
            WHERE "id" = $1`,
          [flow.id, failure, credentialId],
        );
      if (!flow.live) {
        await spend('code_expired');
        return { error: new OAuthCodeExpiredError() };
      }
      if (flow.userId !== userId) {
        await spend('user_mismatch');
        return { error: new OAuthFlowUserMismatchError() };
      }
      // The flow's tokens were bound to the flow; the credential's are bound to its own row id.
      const sealedTokens = flow.sealedTokens;
      const credential = await this.auth.insertCredential(
        manager,
        { userId, provider: flow.provider, expiresAt: flow.tokenExpiresAt },
        (id) => this.auth.transfer(sealedTokens, oauthFlowContext(flow.id), id),
      );
      await spend(null, credential.id);
      return { credential };
    });
    if ('error' in outcome) {
      if (outcome.error instanceof OAuthFlowUserMismatchError) {
        this.logger.warn(`An OAuth flow was completed for another user than it was started for (user ${userId}); refused`);
      }
      throw outcome.error;
    }
    return outcome.credential;
  }

  private async fail(flow: FlowRow, error: OAuthFlowError): Promise<string> {
    await this.dataSource.query(`UPDATE "OAuthFlow" SET "failure" = $2 WHERE "id" = $1`, [flow.id, error]);
    return errorRedirect(flow.returnUrl, error);
  }

  /**
   * "Starts with one of OAUTH_RETURN_URLS", checked on the parsed URL too: no credentials in it,
   * http(s) only, and the prefix matched against the normalised form (so `%2e%2e` or a user-info
   * part cannot make a foreign URL look like an allowed one).
   */
  private assertReturnUrl(returnUrl: string): void {
    const prefixes = this.config.oauthReturnUrls;
    let parsed: URL;
    try {
      parsed = new URL(returnUrl);
    } catch {
      throw new OAuthReturnUrlNotAllowedError(prefixes.length > 0);
    }
    const ok =
      ['http:', 'https:'].includes(parsed.protocol) &&
      !parsed.username &&
      !parsed.password &&
      // A bare origin in OAUTH_RETURN_URLS is kept with its "/": the origin itself, as given, matches too.
      prefixes.some((prefix) => (returnUrl.startsWith(prefix) || `${returnUrl}/` === prefix) && parsed.href.startsWith(prefix));
    if (!ok) throw new OAuthReturnUrlNotAllowedError(prefixes.length > 0);
  }

  /** Flows are short-lived: what is older than a day goes, sealed tokens of unused codes with it. */
  private async forgetOldFlows(): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM "OAuthFlow" WHERE "stateExpiresAt" < clock_timestamp() - make_interval(hours => $1)`,
      [FLOW_RETENTION_HOURS],
    );
  }

  private callbackUrl(provider: ProviderName): string {
    return `${this.config.appUrl}/api/v1/integrations/${provider}/oauth/callback`;
  }
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function withParams(url: string, params: Record<string, string>): string {
  const target = new URL(url);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  return target.toString();
}

function errorRedirect(returnUrl: string, error: OAuthFlowError): string {
  return withParams(returnUrl, { status: 'error', error });
}
