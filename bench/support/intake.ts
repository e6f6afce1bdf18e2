import Fastify, { type FastifyInstance } from 'fastify';
import { MetricsService } from '../../src/infrastructure/metrics/metrics.service.js';
import type { BenchApp } from './bench-env.js';

/** The app's own counters: sync runs, and pushes by result (to prove they were accepted, not ignored). */
export async function intakeCounters(
  env: BenchApp,
  provider?: string,
): Promise<{ syncRuns: number; pushes: Record<string, number> }> {
  const metrics = env.app.get(MetricsService);
  const runs = await metrics.syncRuns.get();
  const pushes = await metrics.notificationsReceived.get();
  const byResult: Record<string, number> = {};
  for (const v of pushes.values) {
    if (provider && v.labels.provider !== provider) continue;
    byResult[String(v.labels.result)] = (byResult[String(v.labels.result)] ?? 0) + v.value;
  }
  const syncRuns = runs.values.filter((v) => !provider || v.labels.provider === provider).reduce((sum, v) => sum + v.value, 0);
  return { syncRuns, pushes: byResult };
}

export function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) if (value - (before[key] ?? 0) > 0) out[key] = value - (before[key] ?? 0);
  return out;
}

/** A bare Fastify server on loopback (no Nest, no plugins): the ceiling this machine allows. */
export async function startBareServer(
  register: (server: FastifyInstance) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const bare = Fastify({ logger: false });
  register(bare);
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const address = bare.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { url, close: () => bare.close() };
}
