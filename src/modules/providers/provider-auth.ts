/**
 * What an adapter needs to act for one credential: its tokens, and how to keep what the provider
 * says about them (a refreshed access token, a revoked grant). The connections module builds it.
 */
export interface ProviderTokens {
  accessToken: string;
  refreshToken: string;
  /** epoch ms; null when unknown (forces a refresh before the first call). */
  expiresAt: number | null;
}

export interface ProviderAuth {
  credentialId: number;
  tokens: ProviderTokens;
  onTokensRefreshed(tokens: ProviderTokens): Promise<void>;
  onGrantRevoked(reason: string): Promise<void>;
}

/** What an OAuth code exchange yields: the tokens, and which needed scopes the user left out. */
export interface AuthorizationGrant extends ProviderTokens {
  /** Scopes calsync needs that the token response says were not granted; empty when all were. */
  missingScopes: string[];
}
