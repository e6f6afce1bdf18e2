import { ProviderError } from './provider.errors.js';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 5000 };

/**
 * Retries rate-limited and transient provider failures with exponential backoff and full jitter,
 * waiting at least what `Retry-After` asks. Anything else surfaces at once. Longer outages are
 * left to the durable job's own retries. `retryIf` narrows what is retried (a create whose answer
 * may have been lost is not sent again blindly).
 */
export async function withProviderRetry<T>(
  call: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  retryIf: (error: ProviderError) => boolean = (error) => error.retryable,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ProviderError) || !retryIf(error) || attempt >= policy.attempts) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const jittered = Math.random() * ceiling;
      const wait = Math.max(jittered, error.retryAfterMs ?? 0);
      if (wait > policy.maxDelayMs * 2) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
