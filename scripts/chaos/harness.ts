import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../emulators/free-port.js';
import { type CheckReport, checkAll, checkChannels } from './checks.js';
import {
  type ChaosDatabase,
  type Emulators,
  ServiceInstance,
  WebhookProxy,
  ensureBuilt,
  makeWorkDir,
  openDatabase,
  repoRoot,
  sleep,
  startEmulators,
} from './env.js';
import { FeedWalker, HostReceiver, type HostSideReport, checkHostSide } from './host-side.js';
import { type LatencySample, type TickReport, measureRestart, measureTicks } from './measure.js';
import { type QuiesceReport, quiesce } from './quiesce.js';
import { type RunFacts, type Tally, formatMismatches, formatTable, tally } from './report.js';
import { buildSchedule } from './schedule.js';
import { World } from './world.js';

export interface ChaosOptions {
  /** Which size the defaults came from: the replay command names it (`--short`), as the sizes give different schedules. */
  profile: 'long' | 'short';
  seed: number;
  /** Seconds of scheduled chaos (set-up, quiescence and measurements come on top). */
  durationSec: number;
  /** kill -9s over the run (at least this many happen). */
  kills: number;
  googleHosts: number;
  outlookHosts: number;
  bookingsPerHost: number;
  editsPerSecond: number;
  apiPerSecond: number;
  faultEverySeconds: number;
  /** The instances' RESYNC_INTERVAL_SECONDS (the service accepts from 1). */
  resyncIntervalSeconds: number;
  providerTimeoutMs: number;
  /** Restart-latency samples per provider: `pending` (push accepted, job in flight) and `all-down` (push lost). */
  restartSamples: { pending: number; allDown: number };
  /** How long a restart sample waits for the change to land before calling it lost. */
  restartLandTimeoutMs: number;
  /** Ticks of the resync interval to watch for the once-per-tick measurement (0: skip). */
  tickWindowTicks: number;
  quiesceTimeoutMs: number;
  /** A database only this run uses (the jest test passes a copy of the migrated template). */
  databaseUrl?: string;
  /** Keep the work directory (logs) and the database. */
  keep?: boolean;
  /** Build dist/ first if the sources are newer (the CLI has built already). */
  build?: boolean;
  /** The service entry point relative to the repository root (default `dist/src/main.js`). */
  serviceEntry?: string;
  verbose?: boolean;
  log?: (line: string) => void;
}

export const LONG_DEFAULTS: Omit<ChaosOptions, 'seed'> = {
  profile: 'long',
  durationSec: 300,
  kills: 24,
  googleHosts: 3,
  outlookHosts: 3,
  bookingsPerHost: 6,
  editsPerSecond: 1.2,
  apiPerSecond: 0.6,
  faultEverySeconds: 4,
  resyncIntervalSeconds: 5,
  providerTimeoutMs: 3000,
  restartSamples: { pending: 2, allDown: 1 },
  restartLandTimeoutMs: 20_000,
  tickWindowTicks: 6,
  quiesceTimeoutMs: 180_000,
};

/** The CI version: ~40 s of chaos with a few kills, measurements kept short. */
export const SHORT_DEFAULTS: Omit<ChaosOptions, 'seed'> = {
  ...LONG_DEFAULTS,
  profile: 'short',
  durationSec: 40,
  kills: 4,
  googleHosts: 2,
  outlookHosts: 2,
  bookingsPerHost: 4,
  editsPerSecond: 1.2,
  apiPerSecond: 0.6,
  faultEverySeconds: 3,
  restartSamples: { pending: 1, allDown: 0 },
  restartLandTimeoutMs: 10_000,
  tickWindowTicks: 2,
  quiesceTimeoutMs: 60_000,
};

export interface ChaosReport {
  seed: number;
  ok: boolean;
  mismatches: CheckReport['mismatches'];
  checks: CheckReport | null;
  quiesce: QuiesceReport | null;
  latency: LatencySample[];
  ticks: TickReport | null;
  /** Rule 6: what the host was told (webhooks, the change feed). */
  hostSide: HostSideReport | null;
  tally: Tally | null;
  table: string;
  details: string;
  replay: string;
  workDir: string;
  error?: string;
}

export function replayCommand(o: Pick<ChaosOptions, 'profile' | 'seed' | 'durationSec' | 'kills'>): string {
  return `npm run chaos -- ${o.profile === 'short' ? '--short ' : ''}--seed ${o.seed} --duration ${o.durationSec} --kills ${o.kills}`;
}

/**
 * The whole chaos run: PostgreSQL, the Google and Graph emulators, a webhook load balancer and two
 * calsync processes; set-up through the API; the seeded schedule (host edits, racing API calls, push
 * faults, 429/500/503 bursts, hung responses, kill -9 and restart); quiescence; the checks; the
 * measurements. Always cleans up (children killed, emulators stopped, database dropped) unless `keep`.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = performance.now();
  const root = repoRoot();
  const replay = replayCommand(options);
  log(`chaos run: seed ${options.seed} (replay: ${replay})`);
  if (options.build) await ensureBuilt(root, log);

  const workDir = makeWorkDir();
  const cleanups: Array<() => Promise<void> | void> = [];
  const instances: ServiceInstance[] = [];
  // The service processes never outlive the harness: on exit, and on Ctrl-C (which exits by itself only
  // when no one else, such as the embedded PostgreSQL's shutdown hook, listens for it).
  const onExit = () => instances.forEach((i) => i.killNow());
  const onInterrupt = () => {
    onExit();
    if (process.listenerCount('SIGINT') === 0) process.exit(130);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onInterrupt);
  let database: ChaosDatabase | undefined;
  let emulators: Emulators | undefined;
  let world: World | undefined;
  let proxy: WebhookProxy | undefined;
  let receiver: HostReceiver | undefined;
  let feed: FeedWalker | undefined;
  const report: ChaosReport = {
    seed: options.seed,
    ok: false,
    mismatches: [],
    checks: null,
    quiesce: null,
    latency: [],
    ticks: null,
    hostSide: null,
    tally: null,
    table: '',
    details: '',
    replay,
    workDir,
  };
  let setupMs = 0;
  let chaosMs = 0;
  try {
    database = await openDatabase({ databaseUrl: options.databaseUrl, seed: options.seed }, log);
    emulators = await startEmulators(workDir);
    proxy = new WebhookProxy(() => instances);
    await proxy.start();
    receiver = await HostReceiver.start(options.seed, () => performance.now() - started);
    const keys = {
      API_KEY: `chaos-api-${randomBytes(12).toString('hex')}`,
      ADMIN_API_KEY: `chaos-admin-${randomBytes(12).toString('hex')}`,
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    };
    for (const name of ['A', 'B'] as const) {
      const port = await freePort();
      const env: Record<string, string> = {
        // development: production would refuse the start without settings the harness has no use for.
        NODE_ENV: 'development',
        PORT: String(port),
        HOST: '127.0.0.1',
        APP_URL: `http://127.0.0.1:${port}`,
        DATABASE_URL: database.url,
        ...keys,
        SANDBOX: 'false',
        DATA_DIR: join(workDir, `data-${name}`),
        GOOGLE_CLIENT_ID: 'calsync-chaos-client',
        GOOGLE_CLIENT_SECRET: 'calsync-chaos-secret',
        GOOGLE_API_ROOT_URL: emulators.google.url,
        GOOGLE_OAUTH_TOKEN_URL: emulators.google.tokenUrl,
        GOOGLE_OAUTH_AUTHORIZE_URL: emulators.google.authorizeUrl,
        GOOGLE_WEBHOOK_TOKEN: 'chaos-google-channel-token',
        GOOGLE_WEBHOOK_URL: proxy.url,
        MICROSOFT_CLIENT_ID: 'calsync-chaos-client',
        MICROSOFT_CLIENT_SECRET: 'calsync-chaos-secret',
        MICROSOFT_GRAPH_BASE_URL: emulators.microsoft.url,
        MICROSOFT_TOKEN_URL: emulators.microsoft.tokenUrl,
        MICROSOFT_OAUTH_AUTHORIZE_URL: emulators.microsoft.authorizeUrl,
        MICROSOFT_WEBHOOK_TOKEN: 'chaos-graph-client-state',
        MICROSOFT_WEBHOOK_URL: proxy.url,
        NODE_EXTRA_CA_CERTS: emulators.caFile,
        SCHEDULER_ENABLED: 'true',
        RESYNC_INTERVAL_SECONDS: String(options.resyncIntervalSeconds),
        QUEUE_POLL_INTERVAL_MS: '250',
        // Two instances beside a test suite on one PostgreSQL (max_connections 100 by default): each
        // holds up to DATABASE_POOL_SIZE + WORKER_CONCURRENCY + 15 (the worker's lanes and its own),
        // 27 here, and a test app beside them up to 33. Four hosts' syncs need no more than 4 at once.
        DATABASE_POOL_SIZE: '8',
        WORKER_CONCURRENCY: '4',
        PROVIDER_TIMEOUT_MS: String(options.providerTimeoutMs),
        // Short-lived channels, so renewals (Google: a new channel, then the old one stopped) happen under chaos too.
        CHANNEL_TTL_SECONDS: '300',
        SUBSCRIPTION_RENEW_BEFORE_SECONDS: '240',
        LOG_LEVEL: 'warn',
        // The host's webhook receiver is on loopback.
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      };
      instances.push(new ServiceInstance(name, port, env, root, join(workDir, 'logs', `${name}.log`), options.serviceEntry));
    }
    // One after the other: the first migrates the database, the second finds it done.
    for (const instance of instances) {
      const ms = await instance.start();
      log(`instance ${instance.name} up on ${instance.url} in ${Math.round(ms)} ms (log: ${instance.logFile})`);
    }
    const pool = new pg.Pool({ connectionString: database.url, max: 4 });
    // The database may go away under an idle connection (the run's end): not a crash.
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    const baseDay = new Date();
    baseDay.setUTCHours(0, 0, 0, 0);
    world = new World(instances, emulators, pool, {
      dbUrl: database.url,
      apiKey: keys.API_KEY,
      adminKey: keys.ADMIN_API_KEY,
      seed: options.seed,
      baseDayMs: baseDay.getTime(),
      log,
      verbose: options.verbose ?? false,
    });

    const schedule = buildSchedule({
      seed: options.seed,
      durationMs: options.durationSec * 1000,
      kills: options.kills,
      googleHosts: options.googleHosts,
      outlookHosts: options.outlookHosts,
      bookingsPerHost: options.bookingsPerHost,
      editsPerSecond: options.editsPerSecond,
      apiPerSecond: options.apiPerSecond,
      faultEverySeconds: options.faultEverySeconds,
    });
    const counts: Record<string, number> = {};
    for (const op of schedule.ops) counts[op.kind] = (counts[op.kind] ?? 0) + 1;
    log(
      `schedule: ${schedule.hosts.length} hosts, ${schedule.initial.length} bookings, ${schedule.ops.length} ops (${Object.entries(
        counts,
      )
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`,
    );

    // The host product: a webhook endpoint for every event type, and a reader of the change feed.
    const endpoint = await world.call<{ id: number; secret: string }>('POST', '/api/v1/webhook-endpoints', {
      url: receiver.url,
      description: 'chaos: the host product',
    });
    receiver.useSecret(endpoint.secret);
    feed = new FeedWalker(world);
    feed.start();

    await world.addHosts(schedule);
    await sleep(2500); // the flag cache (2 s) of both instances sees the sync flag
    const subscribed = await world.call<{ result: Record<string, number> }>(
      'POST',
      '/api/v1/admin/tasks/subscribe-calendars/run',
      undefined,
      { admin: true },
    );
    log(`subscribe-calendars: ${JSON.stringify(subscribed.result)}`);
    await world.addInitialBookings(schedule.initial);
    const settled = await quiesce(world, { timeoutMs: 60_000 });
    const channelsAtStart = await checkChannels(world);
    log(
      `set-up done: ${world.bookings.length} bookings, settled in ${(settled.ms / 1000).toFixed(1)} s; channels ${channelsAtStart.withOneLiveChannel}/${channelsAtStart.calendars}`,
    );
    setupMs = performance.now() - started;

    log(`chaos: ${options.durationSec} s…`);
    const chaosStarted = performance.now();
    receiver.faulty = true;
    await world.run(schedule.ops);
    receiver.faulty = false;
    chaosMs = performance.now() - chaosStarted;
    log(`chaos done: ${world.kills.length} kills, ${world.ops.length} ops; quiescing…`);

    report.quiesce = await quiesce(world, { timeoutMs: options.quiesceTimeoutMs });
    log(
      `quiescence: ${report.quiesce.stable ? 'stable' : 'not stable'} after ${report.quiesce.rounds} round(s), ${(report.quiesce.ms / 1000).toFixed(1)} s`,
    );
    for (const note of report.quiesce.notes) log(`  ${note}`);
    for (const job of report.quiesce.failedJobs) log(`  job out of attempts: ${JSON.stringify(job)}`);
    for (const job of report.quiesce.stuckJobs) log(`  job stuck: ${JSON.stringify(job)}`);
    await feed.stop();
    await feed.readToEnd();
    report.checks = await checkAll(world);
    report.hostSide = await checkHostSide(world, endpoint.id, receiver, feed, report.checks.views);
    report.checks.mismatches.push(...report.hostSide.mismatches);
    report.mismatches = report.checks.mismatches;
    log(`checks: ${report.checks.bookingsChecked} bookings, ${report.mismatches.length} mismatch(es)`);
    report.details = await formatMismatches(world, report.checks);
    if (report.hostSide.details.length) report.details += `\n\n${report.hostSide.details.join('\n')}`;

    if (options.tickWindowTicks > 0) {
      report.ticks = await measureTicks(world, options.resyncIntervalSeconds, options.tickWindowTicks);
    }
    for (const provider of ['google', 'outlook'] as const) {
      for (let i = 0; i < options.restartSamples.pending; i++)
        report.latency.push(await measureRestart(world, provider, 'pending', options.restartLandTimeoutMs));
      for (let i = 0; i < options.restartSamples.allDown; i++)
        report.latency.push(await measureRestart(world, provider, 'all-down', options.restartLandTimeoutMs));
    }
    report.ok = report.mismatches.length === 0 && report.quiesce.stable && world.errors.length === 0;
  } catch (error) {
    report.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`chaos run failed: ${report.error}`);
  } finally {
    if (world) {
      report.tally = tally(world, proxy?.stats.noBackend ?? 0);
      if (world.errors.length) report.details += `\n\nharness errors:\n${world.errors.map((e) => `  ${e}`).join('\n')}`;
    }
    const facts: RunFacts = {
      seed: options.seed,
      durationSec: options.durationSec,
      killsAsked: options.kills,
      replay,
      database: database?.kind ?? '—',
      workDir,
      setupMs,
      chaosMs,
      totalMs: performance.now() - started,
    };
    if (report.tally)
      report.table = formatTable(
        facts,
        report.tally,
        report.checks,
        report.quiesce,
        report.latency,
        report.ticks,
        report.hostSide,
      );
    await Promise.allSettled(instances.map((i) => i.kill9()));
    for (const i of instances) i.close();
    process.removeListener('exit', onExit);
    process.removeListener('SIGINT', onInterrupt);
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    await feed?.stop().catch(() => undefined);
    await receiver?.stop().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await emulators?.stop().catch(() => undefined);
    const keep = options.keep || !report.ok;
    await database?.stop(options.keep ?? false).catch((e: unknown) => log(`could not drop the database: ${String(e)}`));
    if (!keep) rmSync(workDir, { recursive: true, force: true });
    else {
      writeFileSync(join(workDir, 'report.txt'), `${report.table}\n${report.details}\n${report.error ?? ''}\n`);
      log(`logs and report kept in ${workDir}`);
    }
  }
  return report;
}
