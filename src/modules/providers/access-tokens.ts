import type { ProviderAuth, ProviderTokens } from './provider-auth.js';
import { isProviderError } from './provider.errors.js';

export interface TokenRefresher {
  refresh(refreshToken: string): Promise<ProviderTokens>;
}

export interface TokenLogger {
  warn(message: string): void;
  error(message: string): void;
}

/** Refresh this long before the stated expiry (clock skew, a slow call). */
const EXPIRY_MARGIN_MS = 2 * 60_000;
/** Rotations remembered (one per credential); far above the credentials one process serves. */
const MAX_REMEMBERED_ROTATIONS = 10_000;

/**
 * Access tokens for provider calls, refreshed when expired or nearly so, or after a 401; shared by
 * the adapters (each brings its own `TokenRefresher`, one instance per adapter).
 *
 * Providers may rotate refresh tokens (Microsoft does), so two refreshes of one credential racing each other could
 * leave the stored credential holding the older refresh token. Within the process that cannot
 * happen: a refresh per credential is in flight at most once and every caller joins it, and a
 * caller still holding tokens from before the last rotation (loaded before it was persisted) takes
 * the rotated ones instead of refreshing again with a spent refresh token.
 */
export class AccessTokens {
  private readonly inFlight = new Map<number, Promise<ProviderTokens>>();
  private readonly rotations = new Map<number, { from: string; to: ProviderTokens }>();

  constructor(
    private readonly refresher: TokenRefresher,
    private readonly logger: TokenLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The token to send. `rejected`: the token the provider just answered 401 to; it is not sent again.
   * Throws `auth_revoked` (after telling `auth.onGrantRevoked`) when the grant is gone.
   */
  async accessToken(auth: ProviderAuth, rejected: string | null = null): Promise<string> {
    this.adoptRotation(auth);
    const tokens = auth.tokens;
    if (tokens.accessToken !== rejected && tokens.expiresAt !== null && tokens.expiresAt - this.now() > EXPIRY_MARGIN_MS) {
      return tokens.accessToken;
    }
    return (await this.refresh(auth)).accessToken;
  }

  private async refresh(auth: ProviderAuth): Promise<ProviderTokens> {
    let pending = this.inFlight.get(auth.credentialId);
    if (!pending) {
      pending = this.rotate(auth).finally(() => this.inFlight.delete(auth.credentialId));
      this.inFlight.set(auth.credentialId, pending);
    }
    const next = await pending;
    auth.tokens = next;
    return next;
  }

  private async rotate(auth: ProviderAuth): Promise<ProviderTokens> {
    const from = auth.tokens.refreshToken;
    let next: ProviderTokens;
    try {
      next = await this.refresher.refresh(from);
    } catch (error) {
      if (isProviderError(error, 'auth_revoked')) {
        try {
          await auth.onGrantRevoked(error.message);
        } catch (callbackError) {
          this.logger.error(`Could not record the revoked grant of credential ${auth.credentialId}: ${describe(callbackError)}`);
        }
      }
      throw error;
    }
    this.remember(auth.credentialId, from, next);
    auth.tokens = next;
    try {
      await auth.onTokensRefreshed(next);
    } catch (error) {
      // The call goes on with the new tokens; the rotation is remembered in this process, and the
      // old refresh token usually still works for a while elsewhere.
      this.logger.error(`Could not persist the refreshed tokens of credential ${auth.credentialId}: ${describe(error)}`);
    }
    return next;
  }

  /** Hands a caller holding pre-rotation tokens the rotated ones (if they are newer). */
  private adoptRotation(auth: ProviderAuth): void {
    const rotation = this.rotations.get(auth.credentialId);
    if (!rotation || rotation.to === auth.tokens || rotation.from !== auth.tokens.refreshToken) return;
    if ((rotation.to.expiresAt ?? 0) > (auth.tokens.expiresAt ?? 0)) auth.tokens = rotation.to;
  }

  private remember(credentialId: number, from: string, to: ProviderTokens): void {
    this.rotations.delete(credentialId);
    if (this.rotations.size >= MAX_REMEMBERED_ROTATIONS) {
      const oldest = this.rotations.keys().next();
      if (!oldest.done) this.rotations.delete(oldest.value);
    }
    this.rotations.set(credentialId, { from, to });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
