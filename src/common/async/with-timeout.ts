/**
 * `promise`, or a rejection after `ms` when it has not settled by then. The work itself goes on
 * (a query cannot be withdrawn from node-postgres once sent); only the caller stops waiting.
 * Written here rather than taken from `p-timeout`: one `setTimeout` around a promise, and the
 * scrape's callers need none of that package's options (custom errors, fallbacks, abort signals).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
