import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Summary, summarize } from './stats.js';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadJob {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Run first and thrown away: connections opened, JIT warm. */
  warmupSeconds: number;
  /** Cycled per connection; with several, each connection starts at a different one. */
  requests: LoadRequest[];
}

export interface LoadOutcome {
  durationSeconds: number;
  responses: number;
  /** Every response of the job, the warm-up's included. */
  answered: number;
  latenciesMs: number[];
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** autocannon's own view, kept for cross-checking (its latency percentiles are whole milliseconds). */
  autocannon: { requestsAverage: number; latencyP50: number; latencyP99: number; non2xx: number };
}

export interface LoadResult {
  throughput: number;
  latency: Summary;
  responses: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
  durationSeconds: number;
  autocannon: LoadOutcome['autocannon'];
  /**
   * CPU time of this process (user + system) from the generator's start to its answer, per response
   * of the whole job (warm-up included), in microseconds: the server's cost per request when the
   * server runs in this process, as the intake benches' do (the generator is a child process).
   */
  cpuMicrosPerResponse: number;
}

const GENERATOR = fileURLToPath(new URL('./load-generator.js', import.meta.url));

/** Runs one closed-loop load (autocannon in a child process) and summarizes every response's latency. */
export function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const cpuBefore = process.cpuUsage();
    const child = fork(GENERATOR, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    // The child stops by itself after warm-up + duration; this only guards against a hung child.
    const guard = setTimeout(
      () => {
        if (settled) return;
        settled = true;
        child.kill('SIGKILL');
        reject(new Error('load generator did not finish in time'));
      },
      (job.warmupSeconds + job.durationSeconds + 30) * 1000,
    );
    child.once('message', (message: { ok: boolean; outcome?: LoadOutcome; error?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      if (!message.ok || !message.outcome) return reject(new Error(`load generator failed: ${message.error}`));
      const outcome = message.outcome;
      const cpu = process.cpuUsage(cpuBefore);
      const non2xx = Object.entries(outcome.statuses)
        .filter(([status]) => !status.startsWith('2'))
        .reduce((sum, [, n]) => sum + n, 0);
      resolve({
        throughput: outcome.responses / outcome.durationSeconds,
        latency: summarize(outcome.latenciesMs),
        responses: outcome.responses,
        non2xx,
        errors: outcome.errors,
        timeouts: outcome.timeouts,
        statuses: outcome.statuses,
        durationSeconds: outcome.durationSeconds,
        autocannon: outcome.autocannon,
        cpuMicrosPerResponse: (cpu.user + cpu.system) / Math.max(1, outcome.answered),
      });
    });
    child.once('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      reject(error);
    });
    child.once('exit', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      reject(new Error(`load generator exited with code ${code} before reporting`));
    });
    child.send(job);
  });
}
