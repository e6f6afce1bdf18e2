import { ProviderError, type ProviderErrorKind } from './provider.errors.js';
import { withProviderRetry } from './retry-policy.js';

const policy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 20 };
const failing = (kinds: ProviderErrorKind[], retryAfterMs: number | null = null) => {
  const calls: number[] = [];
  const call = async () => {
    calls.push(Date.now());
    const kind = kinds[calls.length - 1];
    if (kind) throw new ProviderError('google_calendar', kind, kind, null, retryAfterMs);
    return 'ok';
  };
  return { calls, call };
};

describe('withProviderRetry', () => {
  it.each<[string, ProviderErrorKind[], number]>([
    ['rate limits are retried', ['rate_limited', 'rate_limited'], 3],
    ['transient failures are retried', ['transient'], 2],
  ])('%s until the call succeeds', async (_name, kinds, expectedCalls) => {
    const { calls, call } = failing(kinds);
    await expect(withProviderRetry(call, policy)).resolves.toBe('ok');
    expect(calls).toHaveLength(expectedCalls);
  });

  it.each<ProviderErrorKind>([
    'timeout',
    'not_found',
    'conflict',
    'precondition_failed',
    'auth_revoked',
    'unauthorized',
    'bad_request',
    'cursor_expired',
    'permanent',
  ])('%s surfaces at once', async (kind) => {
    const { calls, call } = failing([kind]);
    await expect(withProviderRetry(call, policy)).rejects.toMatchObject({ kind });
    expect(calls).toHaveLength(1);
  });

  it('gives up after the policy’s attempts, with the last error', async () => {
    const { calls, call } = failing(['transient', 'transient', 'transient', 'rate_limited', 'transient']);
    await expect(withProviderRetry(call, policy)).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(calls).toHaveLength(4);
  });

  it('waits at least what Retry-After asks', async () => {
    const { calls, call } = failing(['rate_limited'], 30);
    await withProviderRetry(call, policy);
    expect(calls[1] - calls[0]).toBeGreaterThanOrEqual(29);
  });

  it('leaves a Retry-After far beyond its budget to the durable job instead of sleeping', async () => {
    const { calls, call } = failing(['rate_limited'], 60_000);
    await expect(withProviderRetry(call, policy)).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(calls).toHaveLength(1);
  });
});
