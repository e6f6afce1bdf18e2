/**
 * Retries an assertion until it passes or the time runs out, then rethrows its last failure.
 * For outcomes that arrive asynchronously (pushes, jobs); never a fixed sleep.
 */
export async function expectEventually<T>(
  assertion: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const interval = options.intervalMs ?? 25;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}

/** Asserts that something stays true for a while (e.g. "no second history entry appears"). */
export async function expectConsistently(
  assertion: () => Promise<void> | void,
  options: { durationMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const until = Date.now() + (options.durationMs ?? 500);
  while (Date.now() < until) {
    await assertion();
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
  await assertion();
}
