import type { ProviderAuth, ProviderTokens } from './provider-auth.js';
import { ProviderError, isProviderError } from './provider.errors.js';
import { AccessTokens, type TokenRefresher } from './access-tokens.js';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

function makeAuth(tokens: ProviderTokens, credentialId = 7) {
  const persisted: ProviderTokens[] = [];
  const revoked: string[] = [];
  const auth: ProviderAuth = {
    credentialId,
    tokens,
    onTokensRefreshed: async (next) => {
      persisted.push(next);
    },
    onGrantRevoked: async (reason) => {
      revoked.push(reason);
    },
  };
  return { auth, persisted, revoked };
}

/** A token endpoint that rotates refresh tokens and answers when told to. */
function rotatingEndpoint() {
  let n = 0;
  const seen: string[] = [];
  const pending: Array<() => void> = [];
  const refresher: TokenRefresher = {
    refresh: (refreshToken) => {
      seen.push(refreshToken);
      n += 1;
      const next = { accessToken: `at-${n}`, refreshToken: `rt-${n}`, expiresAt: NOW + HOUR };
      return new Promise((resolve) => pending.push(() => resolve(next)));
    },
  };
  return { refresher, seen, release: () => pending.splice(0).forEach((go) => go()) };
}

const logger = () => {
  const errors: string[] = [];
  return { errors, log: { warn: (m: string) => errors.push(m), error: (m: string) => errors.push(m) } };
};

describe('AccessTokens', () => {
  it('uses a token that is valid for a while yet', async () => {
    const endpoint = rotatingEndpoint();
    const tokens = new AccessTokens(endpoint.refresher, logger().log, () => NOW);
    const { auth } = makeAuth({ accessToken: 'at-0', refreshToken: 'rt-0', expiresAt: NOW + HOUR });
    expect(await tokens.accessToken(auth)).toBe('at-0');
    expect(endpoint.seen).toEqual([]);
  });

  it.each([
    ['expired', NOW - 1],
    ['about to expire', NOW + 30_000],
    ['of unknown expiry', null],
  ])('refreshes a token that is %s and persists the result', async (_label, expiresAt) => {
    const endpoint = rotatingEndpoint();
    const tokens = new AccessTokens(endpoint.refresher, logger().log, () => NOW);
    const { auth, persisted } = makeAuth({ accessToken: 'at-0', refreshToken: 'rt-0', expiresAt });
    const token = tokens.accessToken(auth);
    endpoint.release();
    expect(await token).toBe('at-1');
    expect(auth.tokens).toEqual({ accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: NOW + HOUR });
    expect(persisted).toEqual([auth.tokens]);
  });

  it('refreshes once for concurrent callers of one credential, and never with a spent refresh token', async () => {
    const endpoint = rotatingEndpoint();
    const tokens = new AccessTokens(endpoint.refresher, logger().log, () => NOW);
    const expired = { accessToken: 'at-0', refreshToken: 'rt-0', expiresAt: NOW - 1 };
    // Two jobs loaded the same credential before either refreshed.
    const a = makeAuth({ ...expired });
    const b = makeAuth({ ...expired });
    const both = Promise.all([tokens.accessToken(a.auth), tokens.accessToken(b.auth)]);
    endpoint.release();
    expect(await both).toEqual(['at-1', 'at-1']);
    expect(endpoint.seen).toEqual(['rt-0']);
    expect(a.persisted.length + b.persisted.length).toBe(1);

    // A third caller still holding the pre-rotation tokens takes the rotated ones.
    const late = makeAuth({ ...expired });
    expect(await tokens.accessToken(late.auth)).toBe('at-1');
    expect(late.auth.tokens.refreshToken).toBe('rt-1');
    expect(endpoint.seen).toEqual(['rt-0']);
  });

  it('keeps credentials apart', async () => {
    const endpoint = rotatingEndpoint();
    const tokens = new AccessTokens(endpoint.refresher, logger().log, () => NOW);
    const one = makeAuth({ accessToken: 'x', refreshToken: 'rt-a', expiresAt: null }, 1);
    const two = makeAuth({ accessToken: 'y', refreshToken: 'rt-b', expiresAt: null }, 2);
    const both = Promise.all([tokens.accessToken(one.auth), tokens.accessToken(two.auth)]);
    endpoint.release();
    await both;
    expect(endpoint.seen).toEqual(['rt-a', 'rt-b']);
  });

  it('refreshes after a 401 for the rejected token, but not when another call already replaced it', async () => {
    const endpoint = rotatingEndpoint();
    const tokens = new AccessTokens(endpoint.refresher, logger().log, () => NOW);
    const { auth } = makeAuth({ accessToken: 'at-0', refreshToken: 'rt-0', expiresAt: NOW + HOUR });
    const first = tokens.accessToken(auth, 'at-0');
    endpoint.release();
    expect(await first).toBe('at-1');
    expect(await tokens.accessToken(auth, 'at-0')).toBe('at-1');
    expect(endpoint.seen).toEqual(['rt-0']);
  });

  it('logs a failure to persist and goes on with the new token', async () => {
    const endpoint = rotatingEndpoint();
    const log = logger();
    const tokens = new AccessTokens(endpoint.refresher, log.log, () => NOW);
    const { auth } = makeAuth({ accessToken: 'at-0', refreshToken: 'rt-0', expiresAt: null });
    auth.onTokensRefreshed = async () => {
      throw new Error('database down');
    };
    const token = tokens.accessToken(auth);
    endpoint.release();
    expect(await token).toBe('at-1');
    expect(log.errors).toEqual([expect.stringContaining('database down')]);
  });

  it('reports a revoked grant once and throws auth_revoked', async () => {
    const refresher: TokenRefresher = {
      refresh: async () => {
        throw new ProviderError('office365_calendar', 'auth_revoked', 'AADSTS50173: the grant was revoked', 400);
      },
    };
    const tokens = new AccessTokens(refresher, logger().log, () => NOW);
    const { auth, revoked } = makeAuth({ accessToken: 'at-0', refreshToken: 'rt-0', expiresAt: NOW - 1 });
    const results = await Promise.allSettled([tokens.accessToken(auth), tokens.accessToken(auth)]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect(isProviderError((result as PromiseRejectedResult).reason, 'auth_revoked')).toBe(true);
    }
    expect(revoked).toEqual(['AADSTS50173: the grant was revoked']);
  });

  it('does not report a passing failure as a revoked grant', async () => {
    const refresher: TokenRefresher = {
      refresh: async () => {
        throw new ProviderError('office365_calendar', 'transient', 'token endpoint down', 503);
      },
    };
    const tokens = new AccessTokens(refresher, logger().log, () => NOW);
    const { auth, revoked } = makeAuth({ accessToken: 'at-0', refreshToken: 'rt-0', expiresAt: null });
    await expect(tokens.accessToken(auth)).rejects.toMatchObject({ kind: 'transient' });
    expect(revoked).toEqual([]);
  });
});
