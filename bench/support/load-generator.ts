/**
 * Child process that drives HTTP load with autocannon, so the load generator never shares an
 * event loop (or a core's worth of JIT and GC) with the server it measures. Started by
 * load.ts through `fork`; gets one LoadJob over IPC, answers with one LoadOutcome, exits.
 */
import autocannon from 'autocannon';
import type { LoadJob, LoadOutcome, LoadRequest } from './load.js';

type Client = { setRequests(requests: LoadRequest[]): void };

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

async function fire(job: LoadJob, durationSeconds: number, record: boolean): Promise<LoadOutcome> {
  const latencies: number[] = [];
  let answered = 0;
  const statuses: Record<string, number> = {};
  let clients = 0;
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: durationSeconds,
        pipelining: 1,
        timeout: 10,
        requests: job.requests,
        // Each connection starts at a different request, so a spread of targets is spread from the first moment.
        setupClient: (client: Client) => {
          if (job.requests.length > 1) client.setRequests(rotate(job.requests, clients++));
        },
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      answered++;
      if (!record) return;
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
  const elapsedSeconds = (performance.now() - started) / 1000;
  return {
    durationSeconds: result.duration ?? elapsedSeconds,
    responses: latencies.length,
    answered,
    latenciesMs: latencies,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    autocannon: {
      requestsAverage: result.requests.average,
      latencyP50: result.latency.p50,
      latencyP99: result.latency.p99,
      non2xx: result.non2xx,
    },
  };
}

process.once('message', (message: unknown) => {
  const job = message as LoadJob;
  (async () => {
    const warmup = job.warmupSeconds > 0 ? await fire(job, job.warmupSeconds, false) : null;
    const outcome = await fire(job, job.durationSeconds, true);
    outcome.answered += warmup?.answered ?? 0;
    process.send?.({ ok: true, outcome }, () => process.exit(0));
  })().catch((error: unknown) => {
    process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
  });
});
