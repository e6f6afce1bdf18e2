/**
 * `npm run bench [-- name ...]`: boots calsync on 127.0.0.1 (DATABASE_URL, or a fresh embedded
 * PostgreSQL in a temp dir that is removed at the end) with the Google and Microsoft Graph emulators, runs the benches
 * one after the other, writes bench/results/<name>.json for each and prints one table. Figures are
 * reported, not asserted: the exit code is 0 unless the environment itself could not be set up.
 */
import pg from 'pg';
import { type BenchApp, openDatabase, startBenchApp } from './support/bench-env.js';
import type { Bench } from './support/bench.js';
import { waitForQueueIdle } from './support/hosts.js';
import { stopServiceProcesses } from './support/service-process.js';
import { BenchReport, describeEnvironment, renderTable, writeResult } from './support/report.js';
import { busyTimesBench } from './busy-times.bench.js';
import { fullSyncBench, outlookFullSyncBench } from './full-sync.bench.js';
import { graphIntakeBench } from './graph-intake.bench.js';
import { outlookPushToRescheduleBench, pushToRescheduleBench } from './push-to-reschedule.bench.js';
import { webhookIntakeBench } from './webhook-intake.bench.js';
import { webhookFanoutBench } from './webhook-fanout.bench.js';
import { scaleBench } from './scale.bench.js';

/** Each Outlook bench right after its Google counterpart, so their rows sit side by side in the table. */
const BENCHES: Bench[] = [
  webhookIntakeBench,
  graphIntakeBench,
  pushToRescheduleBench,
  outlookPushToRescheduleBench,
  fullSyncBench,
  outlookFullSyncBench,
  busyTimesBench,
  webhookFanoutBench,
  // Last and longest: 2,000 users and 1,000,000 cached events against the service as its own process (its own database).
  scaleBench,
];

/** No bench may take longer than this (unless it sets its own `timeoutMs`); the run goes on with the next one. */
const BENCH_TIMEOUT_MS = 120_000;

const out = (line: string) => process.stdout.write(`${line}\n`);

function select(args: string[]): Bench[] {
  if (args.length === 0) return BENCHES;
  const unknown = args.filter((a) => !BENCHES.some((b) => b.name === a));
  if (unknown.length > 0) {
    out(`unknown bench(es): ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  return BENCHES.filter((b) => args.includes(b.name));
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function main(): Promise<void> {
  const benches = select(process.argv.slice(2));
  const started = performance.now();
  out(`calsync benchmarks: ${benches.map((b) => b.name).join(', ')}`);
  const database = await openDatabase((line) => out(`  ${line}`));
  const environment = describeEnvironment(database.kind);
  out(`  database: ${database.kind === 'embedded' ? 'fresh embedded PostgreSQL (temp dir)' : 'DATABASE_URL'}`);
  const reports: BenchReport[] = [];
  let env: BenchApp | undefined;
  const stopEverything = async () => {
    // A bench that timed out may have left a service process of its own running: it goes before the database.
    await stopServiceProcesses().catch((error: unknown) => out(`  stopping service processes failed: ${String(error)}`));
    await env?.close().catch((error: unknown) => out(`  closing the app failed: ${String(error)}`));
    if (env && database.kind === 'embedded') await reportLeftoverConnections(database.url);
    await database.stop().catch((error: unknown) => out(`  stopping PostgreSQL failed: ${String(error)}`));
  };
  // Ctrl-C still stops PostgreSQL and removes its temp dir.
  const onSignal = () => {
    out('\ninterrupted: stopping');
    void stopEverything().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    env = await startBenchApp(database.url);
    out(`  calsync on ${env.baseUrl}, Google emulator on ${env.emulator.url}, Graph emulator on ${env.microsoft.url}`);
    for (const bench of benches) {
      const report = new BenchReport(bench.name, bench.description);
      out(`\n▸ ${bench.name}: ${bench.description}`);
      const benchStarted = performance.now();
      try {
        await waitForQueueIdle(env, 30_000);
        await withTimeout(
          bench.run({ env, log: (line) => out(`    ${line}`) }, report),
          bench.timeoutMs ?? BENCH_TIMEOUT_MS,
          bench.name,
        );
      } catch (error) {
        report.fail(error);
        out(`    failed: ${report.message}`);
      }
      report.finishedAt = new Date();
      for (const note of report.notes) out(`    note: ${note}`);
      const file = writeResult(report, environment);
      out(`    done in ${((performance.now() - benchStarted) / 1000).toFixed(1)} s → ${file}`);
      reports.push(report);
    }
  } finally {
    await stopEverything();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  out(`\nSummary (${environment.cpus} × ${environment.cpuModel}, Node ${environment.node}, ${environment.database} PostgreSQL)`);
  out(renderTable(reports));
  out(
    `\nTotal ${((performance.now() - started) / 1000).toFixed(1)} s. Figures are reported, not asserted; details in bench/results/*.json.`,
  );
}

/**
 * On our own embedded server every backend but ours belongs to the app: any still there after
 * app.close() (given a moment) is a connection the app failed to release; say so rather than let
 * PostgreSQL's shutdown turn it into a confusing warning.
 */
async function reportLeftoverConnections(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const deadline = performance.now() + 2000;
    for (;;) {
      const { rows } = await client.query<{ pid: number; state: string | null; query: string }>(
        `SELECT pid, state, left(query, 120) AS query FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      );
      if (rows.length === 0) return;
      if (performance.now() > deadline) {
        out(`  note: ${rows.length} PostgreSQL connection(s) still open 2 s after the app closed:`);
        for (const row of rows) out(`    pid ${row.pid} (${row.state ?? 'unknown'}): ${row.query.replace(/\s+/g, ' ')}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch {
    // Only a diagnostic.
  } finally {
    await client.end().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
