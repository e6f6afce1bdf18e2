/**
 * A user base far past one team (issue 13): 2,000 users with 3 calendars each, Google and Outlook
 * alternating, and 1,000,000 cached events. The users, credentials (sealed by the app's own
 * cipher), selected calendars and the cache flag are written with SQL, and the cached events with
 * `generate_series`: the API path would take minutes for what is only set-up. The channels come
 * from the real `subscribe-calendars` task against the emulators, and every figure after that goes
 * through the service: busy times over HTTP, the renewal sweep, the safety-net resync sweep, pushes
 * over two replicas on one PostgreSQL.
 *
 * What is measured is the service alone, as it is deployed: its own OS process, `node
 * dist/src/main.js` (the production entry point), configured only through its environment (the run's
 * keys and webhook tokens, the emulators' URLs, `NODE_EXTRA_CA_CERTS` holding the Graph emulator's CA,
 * since the service has no setting for a CA of its own) and listening on 127.0.0.1. Its memory is
 * read from outside, `/proc/<pid>/status`: VmRSS after the whole run (target < 300 MB) and VmHWM, the
 * peak. The runner's own RSS (the bench, the in-process app of the other benches, idle here, and both
 * emulators holding 2,000 accounts) is shown beside it for information only.
 *
 * The service gets a database of its own on the run's PostgreSQL server, created by
 * `support/own-service.ts` (as for the full-sync benches), migrated by the service at its start and
 * dropped at the end. The in-process app the runner started for every
 * bench (`env.app`) stays on the run's database: its queue worker never sees this bench's jobs, so
 * the work (and the memory it takes) is all the service process's. The replica of the two-replica
 * section is a second process of the same entry point on the same database. From the in-process app
 * only its `CredentialAuthFactory` is used, to seal the seeded credentials (pure crypto with the
 * same ENCRYPTION_KEY the service opens them with), and `CachedBusyTimelinesReadModel`'s query is
 * timed in the runner over its own connection (a diagnostic printed when busy times miss). Counters
 * (sync runs, pushes by result) are scraped from each service's `/metrics`.
 *
 * The emulators stay in the runner, where the bench seeds them directly. A small probe loaded
 * into the service with `node --import` (`support/service-probe.ts`) meters its database statements
 * during the subscribe and resync sweeps and reports its heap, over the IPC channel; when that channel
 * closes (the runner ended, however it ended) the probe sends the service SIGTERM. The runner also
 * stops every service it started at the bench's end and SIGKILLs any left at its exit. The services'
 * logs (warn level, JSON) go to `bench/results/scale-service.log` and `scale-replica.log`.
 *
 * `SCALE_USERS` and `SCALE_EVENTS` shrink it for a quick look (e.g. 200 and 100000); the targets
 * are the issue's for the full size.
 */
import http from 'node:http';
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type { GoogleCalendarEmulator } from '../emulators/google/google-calendar.emulator.js';
import type { MicrosoftGraphEmulator } from '../emulators/microsoft/microsoft-graph.emulator.js';
import { freePort } from '../emulators/free-port.js';
import type { AppConfig } from '../src/config/app-config.js';
import { CredentialAuthFactory } from '../src/modules/connections/index.js';
import { HOST_EVENT_CONSUMERS_LANE_CONCURRENCY, WEBHOOKS_LANE_CONCURRENCY } from '../src/modules/host-events/host-events.jobs.js';
import { CachedBusyTimelinesReadModel } from '../src/modules/sync/read-models/cached-busy-timelines.read-model.js';
import type { Bench, BenchContext } from './support/bench.js';
import { type BenchApp, sleep } from './support/bench-env.js';
import { CACHE_FLAG, runTask, todayUtc, waitForQueueIdle } from './support/hosts.js';
import { RESULTS_DIR, type BenchReport } from './support/report.js';
import { startOwnService } from './support/own-service.js';
import { type ProbeMeter, longestStatements } from './support/service-probe.js';
import {
  type ProcessMemory,
  ServiceProcess,
  machineCpuMs,
  postgresCpu,
  scrapeIntakeCounters,
} from './support/service-process.js';
import { type Summary, median, round, roundSummary, summarize, timeSequential } from './support/stats.js';

const USERS = positive('SCALE_USERS', 2000);
const EVENTS = positive('SCALE_EVENTS', 1_000_000);
const CALENDARS_PER_USER = 3;
const SPREAD_DAYS = 88;
const RANGE_DAYS = 31;
const ROUNDS = 3;
const BUSY_REQUESTS = 200;
/** One calendar in ten gets a channel inside the renewal window. */
const RENEW_EVERY = 10;
/** The interval the resync sweep must keep up with. */
const RESYNC_INTERVAL_SECONDS = 900;
/** Calendars pushed through two replicas (Google channels; every one a real change to pick up). */
const REPLICA_PUSHES = Math.min(400, Math.floor((USERS * CALENDARS_PER_USER) / 2));
const WEBHOOK_PATH = '/api/webhooks/calendar-subscription/google_calendar';
/** The issue's memory target for the service process. */
const RSS_TARGET_MB = 300;
/**
 * Diagnostics, off by default: extra node flags for the primary service process (e.g.
 * `--max-semi-space-size=4`), and heap snapshots of the primary service written to bench/results
 * when it is ready and after the memory figures (`--heapsnapshot-signal`). Figures measured with
 * flags are marked in a note: production runs `node dist/src/main.js` without any.
 */
const SERVICE_NODE_ARGS = (process.env.SCALE_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const HEAP_SNAPSHOTS = process.env.SCALE_HEAP_SNAPSHOT === '1';

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

interface ScaleCalendar {
  id: number;
  userId: number;
  provider: 'google_calendar' | 'office365_calendar';
  externalId: string;
}

interface Population {
  userIds: number[];
  calendars: ScaleCalendar[];
  byUser: Map<number, ScaleCalendar[]>;
}

interface ChannelRow {
  id: number;
  channelId: string | null;
  channelResourceId: string | null;
  channelResourceUri: string | null;
  channelExpiration: Date | null;
}

/** What the bench works against: the service process, the bench's connection to its database, the runner's emulators. */
interface ScaleEnv {
  service: ServiceProcess;
  baseUrl: string;
  /** The service's configuration, as it loads it from `settings`. */
  config: AppConfig;
  /** The service's environment (a replica starts from the same one). */
  settings: Readonly<Record<string, string>>;
  /** The bench's own connection to the service's database (set-up, checks, waits), not the service's. */
  dataSource: DataSource;
  emulator: GoogleCalendarEmulator;
  microsoft: MicrosoftGraphEmulator;
  admin: BenchApp['admin'];
}

const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

export const scaleBench: Bench = {
  name: 'scale',
  description:
    `${USERS.toLocaleString('en-US')} users × ${CALENDARS_PER_USER} calendars (Google and Outlook), ` +
    `${EVENTS.toLocaleString('en-US')} cached events against the service as its own process: busy times, subscribe and renew, ` +
    `resync sweep, two replicas, the service's memory`,
  // Set-up, 6,000 channels and their catch-up syncs, a 6,000-calendar sweep: minutes, not the usual 2.
  timeoutMs: 15 * 60_000,

  async run({ env, log }: BenchContext, report: BenchReport): Promise<void> {
    const settings = { users: USERS, calendarsPerUser: CALENDARS_PER_USER, events: EVENTS, spreadDays: SPREAD_DAYS };
    report.details.settings = settings;
    const runnerRssAtStart = process.memoryUsage().rss;

    const logFile = join(RESULTS_DIR, 'scale-service.log');
    rmSync(logFile, { force: true });
    const nodeArgs = [
      ...SERVICE_NODE_ARGS,
      ...(HEAP_SNAPSHOTS ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${RESULTS_DIR}`] : []),
    ];
    if (nodeArgs.length > 0) report.note(`diagnostic run: the service was started with node ${nodeArgs.join(' ')}`);
    const own = await startOwnService(env, {
      name: 'scale service',
      databasePrefix: 'calsync_scale',
      logFile,
      nodeArgs,
      checkConfig(config) {
        if (config.syncWindowDays < SPREAD_DAYS + 2) {
          throw new Error(`SYNC_WINDOW_DAYS (${config.syncWindowDays}) is too short for events spread over ${SPREAD_DAYS} days`);
        }
      },
      onDropError: (message) => report.note(message),
    });
    const { service, database } = own;
    const services: ServiceProcess[] = [service];
    try {
      log(
        `service: node dist/src/main.js, pid ${service.pid}, on ${service.url}, database ${database.name}, ready in ` +
          `${(own.readyMs / 1000).toFixed(1)} s (migrations included); log: ${logFile}`,
      );
      report.details.service = {
        entry: 'node dist/src/main.js',
        pid: service.pid,
        database: database.name,
        readyMs: Math.round(own.readyMs),
        log: logFile,
        nodeArgs,
      };
      const scale: ScaleEnv = {
        service,
        baseUrl: service.url,
        config: own.config,
        settings: own.settings,
        dataSource: own.dataSource,
        emulator: env.emulator,
        microsoft: env.microsoft,
        admin: own.client.admin,
      };
      await measure(scale, env, services, log, report, runnerRssAtStart);
    } finally {
      for (const each of services) await each.stop();
      await own.close();
    }
  },
};

async function measure(
  scale: ScaleEnv,
  env: BenchApp,
  services: ServiceProcess[],
  log: (line: string) => void,
  report: BenchReport,
  runnerRssAtStart: number,
): Promise<void> {
  const service = scale.service;
  /** The service's RSS along the way (/proc), in the JSON. */
  const memoryTimeline: Array<{ at: string; rssMb: number; peakMb: number; heapTotalMb: number; heapUsedMb: number }> = [];
  const memoryAt = async (at: string) => {
    const m = service.memory();
    const { usage } = await service.memoryUsage();
    memoryTimeline.push({
      at,
      rssMb: mb(m.rss),
      peakMb: mb(m.peak),
      heapTotalMb: mb(usage.heapTotal),
      heapUsedMb: mb(usage.heapUsed),
    });
  };
  await memoryAt('ready');
  if (HEAP_SNAPSHOTS) log(`heap snapshot of the service when ready: ${await service.heapSnapshot(RESULTS_DIR)}`);

  // ---- set-up: accounts in the emulators, rows in SQL ----------------------------------------
  let t0 = performance.now();
  const population = await populate(scale, env.app.get(CredentialAuthFactory));
  const setupSeconds = (performance.now() - t0) / 1000;
  log(`${population.userIds.length} users, ${population.calendars.length} calendars set up in ${setupSeconds.toFixed(1)} s`);
  report.add('set-up: users, credentials, calendars (SQL + emulators)', setupSeconds, 's');

  // ---- subscribe-calendars for every calendar ------------------------------------------------
  scale.emulator.resetCalls();
  scale.microsoft.resetCalls();
  const runsBefore = await scrapeIntakeCounters(scale.baseUrl);
  t0 = performance.now();
  const subscribeMeter = await service.meterDatabase();
  // Where the CPU of the two cores goes meanwhile: the service, the runner (both emulators
  // answering, the Graph one over TLS and validating the notification URL), PostgreSQL.
  const subscribePostgres = await postgresCpu(scale.dataSource);
  const subscribeCpuBefore = { service: service.cpuMs(), runner: process.cpuUsage(), machine: machineCpuMs() };
  let subscribed: Record<string, number>;
  let subscribeDb: ProbeMeter;
  try {
    subscribed = await runTask(scale, 'subscribe-calendars');
  } finally {
    subscribeDb = await subscribeMeter.stop();
  }
  const subscribeSeconds = (performance.now() - t0) / 1000;
  const runnerCpu = process.cpuUsage(subscribeCpuBefore.runner);
  const machineAfter = machineCpuMs();
  const subscribeCpu = {
    serviceSeconds: (service.cpuMs() - subscribeCpuBefore.service) / 1000,
    runnerSeconds: (runnerCpu.user + runnerCpu.system) / 1e6,
    postgresSeconds: await subscribePostgres.stop().then((ms) => (ms === null ? null : ms / 1000)),
    machineSeconds:
      subscribeCpuBefore.machine === null || machineAfter === null ? null : (machineAfter - subscribeCpuBefore.machine) / 1000,
  };
  log(`subscribe-calendars: ${JSON.stringify(subscribed)} in ${subscribeSeconds.toFixed(1)} s; waiting for the catch-up syncs`);
  t0 = performance.now();
  await waitForQueueIdle(scale, 600_000);
  const catchUpSeconds = (performance.now() - t0) / 1000;
  const runsAfter = await scrapeIntakeCounters(scale.baseUrl);
  const channels = await checkChannels(scale, population);
  await memoryAt('subscribed');
  log(`catch-up syncs drained in ${catchUpSeconds.toFixed(1)} s; ${JSON.stringify(channels)}`);
  report.add(
    `subscribe-calendars, ${population.calendars.length.toLocaleString('en-US')} calendars: time`,
    subscribeSeconds,
    's',
    {
      op: '<',
      value: 60,
    },
  );
  report.add('subscribe-calendars: channels opened', Number(subscribed.watched ?? Number.NaN), 'channels', {
    op: '=',
    value: population.calendars.length,
  });
  report.add('calendars with exactly one live channel (DB and emulators)', channels.exactlyOne, 'calendars', {
    op: '=',
    value: population.calendars.length,
  });
  report.add('then: catch-up syncs drained in', catchUpSeconds, 's');
  const perCalendarMs = (1000 * subscribeSeconds) / population.calendars.length;
  if (subscribeSeconds >= 60 || channels.exactlyOne !== population.calendars.length) {
    report.note(
      `subscribe-calendars: ${perCalendarMs.toFixed(1)} ms per calendar of wall time; database statements (the task's, ` +
        `and the catch-up syncs running meanwhile) took ${(subscribeDb.ms / population.calendars.length).toFixed(1)} ms ` +
        `per calendar in all (${(subscribeDb.statements / population.calendars.length).toFixed(1)} statements); the rest is ` +
        `the provider calls (Google watch; Graph create, which validates the URL with the service first), the service ` +
        `process and the emulators in the bench process, on the same cores. CPU meanwhile: the service ` +
        `${subscribeCpu.serviceSeconds.toFixed(1)} s, the runner (both emulators) ${subscribeCpu.runnerSeconds.toFixed(1)} s, ` +
        `PostgreSQL ${subscribeCpu.postgresSeconds?.toFixed(1) ?? '?'} s, every core together ` +
        `${subscribeCpu.machineSeconds?.toFixed(1) ?? '?'} s of ${(cpus().length * subscribeSeconds).toFixed(1)} s`,
    );
  }
  report.details.subscribe = {
    summary: subscribed,
    seconds: round(subscribeSeconds, 2),
    msPerCalendar: round(perCalendarMs, 2),
    databaseStatementsDuringTask: subscribeDb.statements,
    databaseMsDuringTask: round(subscribeDb.ms, 0),
    cpuSeconds: {
      service: round(subscribeCpu.serviceSeconds, 2),
      runner: round(subscribeCpu.runnerSeconds, 2),
      postgres: subscribeCpu.postgresSeconds === null ? null : round(subscribeCpu.postgresSeconds, 2),
      machine: subscribeCpu.machineSeconds === null ? null : round(subscribeCpu.machineSeconds, 2),
    },
    longestStatements: longestStatements(subscribeDb)
      .slice(0, 8)
      .map((s) => ({ ...s, ms: round(s.ms, 0) })),
    catchUpSeconds: round(catchUpSeconds, 2),
    catchUpSyncRuns: runsAfter.syncRuns - runsBefore.syncRuns,
    channels,
    providerCalls: { google: tally(scale.emulator.calls), microsoft: tally(scale.microsoft.calls) },
  };

  // ---- busy times: one user's events alone, then 1,000,000 ---------------------------------
  const solo = population.userIds[0];
  t0 = performance.now();
  await seedCache(scale, population.byUser.get(solo) ?? [], perCalendar(population.calendars.length));
  let seedSeconds = (performance.now() - t0) / 1000;
  const busyPath = busyTimesPath();
  const busy = busyTimesClient(scale);
  try {
    const alone = await measureBusyTimes(scale, busy, () => solo, population.byUser);
    log(
      `busy times, 1 user's events in the cache: cold p50 ${alone.cold.p50.toFixed(2)} ms, warm p50 ${alone.warm.p50.toFixed(2)} ms`,
    );
    const others = population.calendars.filter((c) => c.userId !== solo);
    t0 = performance.now();
    await seedCache(scale, others, perCalendar(population.calendars.length), population.byUser.get(solo)?.length ?? 0);
    seedSeconds += (performance.now() - t0) / 1000;
    await scale.dataSource.query(`VACUUM ANALYZE "CalendarCacheEvent"`).catch(() => undefined);
    const cachedRows = Number(
      (await scale.dataSource.query<Array<{ n: string }>>(`SELECT count(*)::text AS n FROM "CalendarCacheEvent"`))[0].n,
    );
    log(`${cachedRows} cached events seeded in ${seedSeconds.toFixed(1)} s`);
    report.add('cached events in the database (SQL seed)', cachedRows, 'rows', { op: '>=', value: EVENTS });
    report.add('cached events: seed time (generate_series)', seedSeconds, 's', { op: '<', value: 60 });
    const random = () => population.userIds[Math.floor(Math.random() * population.userIds.length)];
    const crowd = await measureBusyTimes(scale, busy, random, population.byUser);
    const soloAgain = await measureBusyTimes(scale, busy, () => solo, population.byUser);
    await memoryAt('busy times');
    log(
      `busy times, a random user of ${population.userIds.length}: p50 ${crowd.cold.p50.toFixed(2)} ms p99 ${crowd.cold.p99.toFixed(2)} ms ` +
        `(1 user alone: p50 ${alone.cold.p50.toFixed(2)} ms p99 ${alone.cold.p99.toFixed(2)} ms)`,
    );
    report.add(`busy times over HTTP, a random user, ${cachedRows.toLocaleString('en-US')} events: p50`, crowd.cold.p50, 'ms', {
      op: '<',
      value: 3,
    });
    report.add('busy times over HTTP, a random user: p99', crowd.cold.p99, 'ms', { op: '<', value: 10 });
    report.add('busy times over HTTP, 1 user, only its events cached: p50 (same query)', alone.cold.p50, 'ms');
    report.add('busy times over HTTP, 1 user, only its events cached: p99', alone.cold.p99, 'ms');
    report.add('busy times over HTTP, same user repeated (memoized), 1M rows / alone: p50', soloAgain.warm.p50, 'ms');
    report.add('busy times, random user, source cache', crowd.cacheAnswers, '%', { op: '=', value: 100 });
    report.details.busyTimes = {
      path: busyPath,
      transport: 'HTTP/1.1 over loopback, one keep-alive connection, sequential requests',
      rangeDays: RANGE_DAYS,
      alone: describeBusy(alone),
      crowd: describeBusy(crowd),
      aloneAfterSeed: describeBusy(soloAgain),
      seedSeconds: round(seedSeconds, 2),
      cachedRows,
    };
    if (crowd.cold.p99 >= 10 || crowd.cold.p50 >= 3) {
      // Where a cold request's time goes: the read model's one query (the calendars' merged
      // timelines, as the request makes it), timed here over the bench's own connection, against
      // the whole request.
      const timelines = new CachedBusyTimelinesReadModel(scale.dataSource);
      const from = Math.ceil(Date.now() / 3600_000) * 3600_000;
      const reads = summarize(
        await timeSequential(BUSY_REQUESTS, async () => {
          const ids = (population.byUser.get(random()) ?? []).map((c) => c.id);
          await timelines.read(ids, from, from + RANGE_DAYS * 86_400_000, 'UTC');
        }),
      );
      const plan = await explainBusyRead(scale, population.byUser.get(random()) ?? []);
      report.note(
        `busy times missed: a random user's request p50 ${crowd.cold.p50.toFixed(2)} ms, of which the timeline query ` +
          `(CachedBusyTimelinesReadModel, its 3 calendars over ${RANGE_DAYS} days, timed alone from the bench) p50 ${reads.p50.toFixed(2)} ms ` +
          `p99 ${reads.p99.toFixed(2)} ms; the same user's request answered from the memo p50 ${soloAgain.warm.p50.toFixed(2)} ms ` +
          `(HTTP, the pipeline, the calendars' row and the flags); the rows' plan: ${plan}`,
      );
      report.details.busyTimes = { ...(report.details.busyTimes as object), timelineQueryMs: roundSummary(reads, 3) };
    }
  } finally {
    busy.close();
  }

  // ---- renewal sweep: only the channels inside the window -----------------------------------
  const renewal = await renewalSweep(scale, population);
  await memoryAt('renewal sweep');
  log(`renewal sweep: ${JSON.stringify(renewal.summary)} in ${renewal.seconds.toFixed(1)} s`);
  report.add(`renewal sweep: channels renewed (${renewal.inWindow} inside the window)`, renewal.summary.renewed, 'channels', {
    op: '=',
    value: renewal.inWindow,
  });
  report.add('renewal sweep: channel calls (Google watch+stop, Graph PATCH)', renewal.providerCalls, 'calls', {
    op: '=',
    value: renewal.expectedCalls,
  });
  report.add('renewal sweep: channels outside the window left alone', renewal.untouchedOutside, 'channels', {
    op: '=',
    value: population.calendars.length - renewal.inWindow,
  });
  report.add('renewal sweep: time', renewal.seconds, 's');
  report.details.renewal = renewal;

  // ---- safety-net resync sweep ---------------------------------------------------------------
  const sweep = await resyncSweep(scale, population);
  await memoryAt('resync sweep');
  log(
    `resync sweep: ${sweep.enqueued} calendars, enqueued in ${sweep.enqueueSeconds.toFixed(1)} s, drained in ${sweep.drainSeconds.toFixed(1)} s, ` +
      `PostgreSQL CPU ${sweep.postgresCpuMsPerCalendar?.toFixed(2) ?? '?'} ms and statement round trips ${sweep.dbMsPerCalendar.toFixed(2)} ms per calendar`,
  );
  if (sweep.postgresCpuMsPerCalendar !== null) {
    report.add('resync sweep: PostgreSQL CPU per calendar', sweep.postgresCpuMsPerCalendar, 'ms');
  }
  report.add('resync sweep: statement round trips per calendar (summed)', sweep.dbMsPerCalendar, 'ms');
  report.add('resync sweep: database statements per calendar', sweep.statementsPerCalendar, 'statements');
  report.add(`resync sweep: duration (enqueue + every sync)`, sweep.enqueueSeconds + sweep.drainSeconds, 's', {
    op: '<',
    value: RESYNC_INTERVAL_SECONDS,
    label: `< ${RESYNC_INTERVAL_SECONDS} s interval`,
  });
  report.add('resync sweep: sync runs', sweep.syncRuns, 'runs', { op: '=', value: sweep.enqueued });
  report.add('resync sweep: queue backlog before / after', sweep.backlogAfter, 'jobs', {
    op: '<=',
    value: sweep.backlogBefore,
    label: `≤ before (${sweep.backlogBefore})`,
  });
  report.details.resync = sweep;
  if (sweep.enqueueSeconds + sweep.drainSeconds >= RESYNC_INTERVAL_SECONDS || sweep.backlogAfter > sweep.backlogBefore) {
    report.note(
      `resync sweep does not keep up: ${sweep.postgresCpuMsPerCalendar?.toFixed(1) ?? '?'} ms of PostgreSQL CPU and ` +
        `${sweep.dbMsPerCalendar.toFixed(1)} ms of summed statement round trips per calendar ` +
        `(${sweep.statementsPerCalendar.toFixed(1)} statements), ${((1000 * sweep.drainSeconds) / Math.max(1, sweep.enqueued)).toFixed(1)} ms ` +
        `of wall time per calendar with WORKER_CONCURRENCY ${scale.config.workerConcurrency}`,
    );
  }

  // ---- two replicas on one PostgreSQL ---------------------------------------------------------
  const replicas = await twoReplicas(scale, population, services, log, (line) => report.note(line));
  await memoryAt('two replicas');
  report.add(`two replicas: pushes sent (${REPLICA_PUSHES} calendars, alternating)`, replicas.pushes, 'pushes');
  report.add('two replicas: pushes accepted (both instances)', replicas.accepted, 'pushes', {
    op: '=',
    value: replicas.pushes,
  });
  report.add('two replicas: sync runs (both instances)', replicas.syncRuns, 'runs', { op: '=', value: replicas.pushes });
  report.add('two replicas: changes applied to the cache', replicas.applied, 'events', { op: '=', value: replicas.pushes });
  report.add('two replicas: calendars listed more than once', replicas.listedTwice, 'calendars', { op: '=', value: 0 });
  report.details.replicas = replicas;

  // ---- memory ------------------------------------------------------------------------------
  // The service's RSS and peak from /proc first, untouched; then its heap from the probe, before
  // and after a full garbage collection in it (what is live, against what V8 has not collected
  // yet), and its RSS once more (V8 keeps the pages it freed for a while, so it hardly moves).
  const after = service.memory();
  const usage = await service.memoryUsage(true);
  const afterGc: ProcessMemory | null = usage.afterGc ? service.memory() : null;
  const runner = process.memoryUsage();
  log(
    `service (pid ${service.pid}) RSS after the run ${mb(after.rss)} MB, peak ${mb(after.peak)} MB, V8 heap used ` +
      `${mb(usage.usage.heapUsed)} MB of ${mb(usage.usage.heapTotal)} MB` +
      `${usage.afterGc ? ` (after a full GC ${mb(usage.afterGc.heapUsed)} MB)` : ''}; runner RSS ${mb(runner.rss)} MB`,
  );
  report.add('service RSS after the run (node dist/src/main.js alone)', mb(after.rss), 'MB', {
    op: '<',
    value: RSS_TARGET_MB,
  });
  report.add('service peak RSS over the run (VmHWM)', mb(after.peak), 'MB');
  report.add('service RSS when ready (before the set-up)', memoryTimeline[0].rssMb, 'MB');
  report.add('service V8 heap after the run: used (of its heapTotal)', mb(usage.usage.heapUsed), 'MB');
  if (usage.afterGc) report.add('service V8 heap used after a full GC (live objects)', mb(usage.afterGc.heapUsed), 'MB');
  report.add('runner process RSS after the run (bench, idle in-process app, both emulators)', mb(runner.rss), 'MB');
  const breakdown = (u: NodeJS.MemoryUsage) => ({
    rss: mb(u.rss),
    heapTotal: mb(u.heapTotal),
    heapUsed: mb(u.heapUsed),
    external: mb(u.external),
    arrayBuffers: mb(u.arrayBuffers),
  });
  report.details.serviceMemoryMb = {
    process: 'node dist/src/main.js (the primary instance; its replica had stopped by then)',
    rss: mb(after.rss),
    peak: mb(after.peak),
    rssAnonymous: mb(after.anonymous),
    rssFile: mb(after.file),
    usage: breakdown(usage.usage),
    afterFullGc: usage.afterGc && { ...breakdown(usage.afterGc), procRss: afterGc && mb(afterGc.rss) },
    timeline: memoryTimeline,
  };
  report.details.runnerMemoryMb = {
    atStart: mb(runnerRssAtStart),
    ...breakdown(runner),
    includes:
      'the bench runner, the in-process app of the other benches (idle during this bench) and the Google and Graph ' +
      'emulators holding the scale accounts, calendars, channels and call logs',
  };
  if (HEAP_SNAPSHOTS) log(`heap snapshot of the service after the run: ${await service.heapSnapshot(RESULTS_DIR)}`);
  report.note(
    `service RSS is the service process alone (pid ${service.pid}, /proc VmRSS ${mb(after.rss)} MB: ${mb(after.anonymous)} MB ` +
      `anonymous, ${mb(after.file)} MB file-backed; V8 heap ${mb(usage.usage.heapTotal)} MB, ${mb(usage.usage.heapUsed)} MB used` +
      `${usage.afterGc ? `, ${mb(usage.afterGc.heapUsed)} MB of it live after a full GC` : ''}). What V8 has not collected yet ` +
      `moves the figure with the moment of the read, up to the peak (${mb(after.peak)} MB). The runner's ` +
      `${mb(runner.rss)} MB (the bench, the idle in-process app and both emulators) is not part of it`,
  );
}

// ---- set-up ---------------------------------------------------------------------------------------

/**
 * 2,000 accounts in the emulators (even users Google, odd Outlook), each with two calendars beside
 * its primary one; then the users, credentials (sealed by the app for their row id), selected
 * calendars and the cache flag in four statements.
 */
async function populate(env: ScaleEnv, cipher: CredentialAuthFactory): Promise<Population> {
  const runId = `${process.pid}-${Date.now().toString(36)}`;
  const accounts: Array<{
    email: string;
    provider: ScaleCalendar['provider'];
    accessToken: string;
    refreshToken: string;
    calendars: string[];
  }> = [];
  for (let i = 0; i < USERS; i++) {
    const email = `scale-${i}-${runId}@example.com`;
    if (i % 2 === 0) {
      const account = env.emulator.addAccount({ email });
      const calendars = [email];
      for (let c = 1; c < CALENDARS_PER_USER; c++) calendars.push(env.emulator.addCalendar(email, { summary: `Scale ${c}` }).id);
      accounts.push({ email, provider: 'google_calendar', ...tokensOf(account), calendars });
    } else {
      const account = env.microsoft.addAccount({ email });
      const calendars = [account.calendarId];
      for (let c = 1; c < CALENDARS_PER_USER; c++) calendars.push(env.microsoft.addCalendar(email, { name: `Scale ${c}` }).id);
      accounts.push({ email, provider: 'office365_calendar', ...tokensOf(account), calendars });
    }
  }
  const expiresAt = Date.now() + 3600_000;
  const population: Population = { userIds: [], calendars: [], byUser: new Map() };
  await env.dataSource.transaction(async (manager) => {
    const users: Array<{ id: number; email: string }> = await manager.query(
      `INSERT INTO "User" ("email", "name", "timeZone") SELECT e, 'Scale user', 'UTC' FROM unnest($1::text[]) AS e RETURNING "id", "email"`,
      [accounts.map((a) => a.email)],
    );
    const userOf = new Map(users.map((u) => [u.email, u.id]));
    const ids: Array<{ id: string }> = await manager.query(
      `SELECT nextval(pg_get_serial_sequence('"Credential"', 'id'))::text AS "id" FROM generate_series(1, $1)`,
      [accounts.length],
    );
    const credentialIds = ids.map((r) => Number(r.id));
    await manager.query(
      `INSERT INTO "Credential" ("id", "userId", "provider", "encryptedKey", "expiresAt", "status")
       SELECT * , to_timestamp($5::float8 / 1000), 'active' FROM unnest($1::int[], $2::int[], $3::text[], $4::text[])`,
      [
        credentialIds,
        accounts.map((a) => userOf.get(a.email)),
        accounts.map((a) => a.provider),
        accounts.map((a, i) =>
          cipher.seal(credentialIds[i], { accessToken: a.accessToken, refreshToken: a.refreshToken, expiresAt }),
        ),
        expiresAt,
      ],
    );
    const flat = accounts.flatMap((a, i) =>
      a.calendars.map((externalId) => ({ userId: userOf.get(a.email) as number, credentialId: credentialIds[i], a, externalId })),
    );
    const selected: Array<{ id: number; userId: number; externalId: string; integration: ScaleCalendar['provider'] }> =
      await manager.query(
        `INSERT INTO "SelectedCalendar" ("userId", "credentialId", "integration", "externalId")
         SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[])
         RETURNING "id", "userId", "externalId", "integration"`,
        [
          flat.map((f) => f.userId),
          flat.map((f) => f.credentialId),
          flat.map((f) => f.a.provider),
          flat.map((f) => f.externalId),
        ],
      );
    await manager.query(
      `INSERT INTO "UserFeatures" ("userId", "featureId", "enabled", "assignedAt", "assignedBy", "updatedAt")
       SELECT u, $2, true, now(), 'bench', now() FROM unnest($1::int[]) AS u`,
      [users.map((u) => u.id), CACHE_FLAG],
    );
    population.userIds = users.map((u) => u.id);
    for (const row of selected) {
      const calendar: ScaleCalendar = { id: row.id, userId: row.userId, provider: row.integration, externalId: row.externalId };
      population.calendars.push(calendar);
      const list = population.byUser.get(row.userId) ?? [];
      list.push(calendar);
      population.byUser.set(row.userId, list);
    }
  });
  return population;
}

function tokensOf(account: { accessToken: string; refreshToken: string }) {
  return { accessToken: account.accessToken, refreshToken: account.refreshToken };
}

/** Cached events per calendar, so that the whole population holds EVENTS. */
function perCalendar(calendars: number): { base: number; extra: number } {
  return { base: Math.floor(EVENTS / calendars), extra: EVENTS % calendars };
}

/**
 * Cached events for `calendars`, written as a sync would have (busy, confirmed, inside the window),
 * spread over the next 88 days, 30 or 60 minutes long, each calendar offset by a few minutes. The
 * first `extra` calendars of the population (by position, `offset` of them before this batch) get
 * one more. In batches of 500 calendars: one statement each.
 */
async function seedCache(
  env: ScaleEnv,
  calendars: ScaleCalendar[],
  share: { base: number; extra: number },
  offset = 0,
): Promise<void> {
  const day0 = todayUtc().getTime() + 86_400_000;
  for (let from = 0; from < calendars.length; from += 500) {
    const batch = calendars.slice(from, from + 500);
    await env.dataSource.query(
      `INSERT INTO "CalendarCacheEvent" ("selectedCalendarId", "externalId", "iCalUID", "start", "end", "status", "etag",
                                         "externalUpdatedAt", "cachedAt")
       SELECT c.id, 'seed' || c.id || 'x' || g, 'seed-' || c.id || '-' || g || '@scale.bench',
              s, s + (30 + 30 * (g % 2)) * interval '1 minute', 'confirmed', '"' || g || '"', now(), now()
         FROM unnest($1::int[], $2::int[]) AS c(id, n)
        CROSS JOIN LATERAL generate_series(1, $3::int + CASE WHEN c.n < $4::int THEN 1 ELSE 0 END) AS g
        CROSS JOIN LATERAL (SELECT to_timestamp($5::float8 / 1000)
                                   + (g - 1) * ($6::float8 / ($3::int + 1)) * interval '1 day'
                                   + (c.id % 12) * interval '5 minutes' AS s) AS t`,
      [batch.map((c) => c.id), batch.map((_, i) => offset + from + i), share.base, share.extra, day0, SPREAD_DAYS],
    );
  }
}

// ---- subscribe ----------------------------------------------------------------------------------

/** Per calendar: a live channel in the DB, and exactly one live channel (subscription) in its emulator, the same one. */
async function checkChannels(env: ScaleEnv, population: Population) {
  const rows: ChannelRow[] = await env.dataSource.query(
    `SELECT "id", "channelId", "channelResourceId", "channelResourceUri", "channelExpiration" FROM "SelectedCalendar"
      WHERE "id" = ANY($1::int[])`,
    [population.calendars.map((c) => c.id)],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const now = Date.now();
  const google = new Map<string, string[]>();
  for (const ch of env.emulator.liveChannels()) google.set(ch.calendarId, [...(google.get(ch.calendarId) ?? []), ch.id]);
  const graph = new Map<string, string[]>();
  for (const sub of env.microsoft.subscriptions()) {
    if (Date.parse(sub.expirationDateTime) <= now) continue;
    for (const calendarId of sub.calendarIds) graph.set(calendarId, [...(graph.get(calendarId) ?? []), sub.id]);
  }
  let inDatabase = 0;
  let exactlyOne = 0;
  let duplicates = 0;
  for (const calendar of population.calendars) {
    const row = byId.get(calendar.id);
    const live = row?.channelId && row.channelExpiration && new Date(row.channelExpiration).getTime() > now;
    if (live) inDatabase += 1;
    const inEmulator = (calendar.provider === 'google_calendar' ? google : graph).get(calendar.externalId) ?? [];
    if (inEmulator.length > 1) duplicates += 1;
    if (live && inEmulator.length === 1 && inEmulator[0] === row.channelId) exactlyOne += 1;
  }
  return { calendars: population.calendars.length, liveInDatabase: inDatabase, exactlyOne, withMoreThanOne: duplicates };
}

function tally(calls: ReadonlyArray<{ operation: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of calls) counts[c.operation] = (counts[c.operation] ?? 0) + 1;
  return counts;
}

// ---- busy times -----------------------------------------------------------------------------------

interface BusyMeasurement {
  /** Each request for a user whose timeline is not memoized (a random user, or the user's cache version moved). */
  cold: { p50: number; p99: number };
  coldRounds: Summary[];
  /** The same user's request repeated. */
  warm: { p50: number; p99: number };
  warmRounds: Summary[];
  /** % of answers with `source: "cache"`. */
  cacheAnswers: number;
}

function busyTimesPath(): string {
  const start = Math.ceil(Date.now() / 3600_000) * 3600_000;
  return `start=${new Date(start).toISOString()}&end=${new Date(start + RANGE_DAYS * 86_400_000).toISOString()}`;
}

/** A GET client on one keep-alive loopback connection (node:http, no fetch machinery in the timed path). */
interface BusyTimesClient {
  get(path: string): Promise<{ status: number; body: string }>;
  close(): void;
}

function busyTimesClient(env: ScaleEnv): BusyTimesClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = { authorization: `Bearer ${env.config.apiKey}` };
  return {
    get: (path) =>
      new Promise((resolve, reject) => {
        const req = http.get(`${env.baseUrl}${path}`, { agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('error', reject);
      }),
    close: () => agent.destroy(),
  };
}

/**
 * `GET /api/v1/users/:id/busy-times` over HTTP to the service process (loopback, one keep-alive
 * connection, one request at a time; the clock covers the request, the answer and its JSON parse).
 * `cold`: `pick` chooses the user of each request; when it is always the same user, that user's
 * cache version moves before each request (untimed), so every timed request reads its events from
 * PostgreSQL, as a random user's does. `warm`: the same request repeated, answered from the memo.
 */
async function measureBusyTimes(
  env: ScaleEnv,
  client: BusyTimesClient,
  pick: () => number,
  byUser: Map<number, ScaleCalendar[]>,
): Promise<BusyMeasurement> {
  const query = busyTimesPath();
  let fromCache = 0;
  let answers = 0;
  const ask = async (userId: number) => {
    const res = await client.get(`/api/v1/users/${userId}/busy-times?${query}`);
    if (res.status !== 200) throw new Error(`busy-times for user ${userId}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    answers += 1;
    if ((JSON.parse(res.body) as { source: string }).source === 'cache') fromCache += 1;
  };
  const sameUser = pick() === pick() && pick() === pick();
  const bump = (userId: number) =>
    env.dataSource.query(`UPDATE "SelectedCalendar" SET "cacheVersion" = "cacheVersion" + 1 WHERE "id" = ANY($1::int[])`, [
      (byUser.get(userId) ?? []).map((c) => c.id),
    ]);
  for (let i = 0; i < 20; i++) await ask(pick()); // warm-up: JIT, pool, statement cache
  const coldRounds: Summary[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const samples: number[] = [];
    for (let i = 0; i < BUSY_REQUESTS; i++) {
      const userId = pick();
      if (sameUser) await bump(userId);
      const started = performance.now();
      await ask(userId);
      samples.push(performance.now() - started);
    }
    coldRounds.push(summarize(samples));
  }
  const warmUser = pick();
  await ask(warmUser);
  const warmRounds: Summary[] = [];
  for (let r = 0; r < ROUNDS; r++) warmRounds.push(summarize(await timeSequential(BUSY_REQUESTS, () => ask(warmUser))));
  const mid = (rounds: Summary[]) => ({ p50: median(rounds.map((s) => s.p50)), p99: median(rounds.map((s) => s.p99)) });
  return { cold: mid(coldRounds), coldRounds, warm: mid(warmRounds), warmRounds, cacheAnswers: (100 * fromCache) / answers };
}

function describeBusy(m: BusyMeasurement) {
  return {
    coldMs: { p50: round(m.cold.p50, 3), p99: round(m.cold.p99, 3), rounds: m.coldRounds.map((s) => roundSummary(s, 3)) },
    warmMs: { p50: round(m.warm.p50, 3), p99: round(m.warm.p99, 3), rounds: m.warmRounds.map((s) => roundSummary(s, 3)) },
    cacheAnswersPercent: round(m.cacheAnswers, 1),
  };
}

/** The busy read's plan for one user's calendars, for the note when the target is missed. */
async function explainBusyRead(env: ScaleEnv, calendars: ScaleCalendar[]): Promise<string> {
  const start = Date.now();
  const rows: Array<{ 'QUERY PLAN': string }> = await env.dataSource.query(
    `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
     SELECT "start", "end" FROM "CalendarCacheEvent"
      WHERE "selectedCalendarId" = ANY($1::int[]) AND "start" < $3 AND "end" > $2`,
    [calendars.map((c) => c.id), new Date(start), new Date(start + RANGE_DAYS * 86_400_000)],
  );
  return rows.map((r) => r['QUERY PLAN'].trim()).join(' | ');
}

// ---- renewal --------------------------------------------------------------------------------------

/**
 * One calendar in ten gets a channel that expires in an hour (inside the renewal window,
 * `SUBSCRIPTION_RENEW_BEFORE_SECONDS`), written in the database, where `subscribe-calendars` reads
 * it. Then the task runs: it must renew exactly those (Google: a new watch and a stop of the old
 * channel; Graph: a PATCH of the subscription) and leave every other channel as it was.
 */
async function renewalSweep(env: ScaleEnv, population: Population) {
  const subset = population.calendars.filter((_, i) => i % RENEW_EVERY === 0);
  const subsetIds = new Set(subset.map((c) => c.id));
  const before: ChannelRow[] = await env.dataSource.query(
    `SELECT "id", "channelId", "channelExpiration" FROM "SelectedCalendar" WHERE "id" = ANY($1::int[])`,
    [population.calendars.map((c) => c.id)],
  );
  await env.dataSource.query(
    `UPDATE "SelectedCalendar" SET "channelExpiration" = now() + interval '1 hour' WHERE "id" = ANY($1::int[])`,
    [subset.map((c) => c.id)],
  );
  env.emulator.resetCalls();
  env.microsoft.resetCalls();
  const t0 = performance.now();
  const summary = await runTask(env, 'subscribe-calendars');
  const seconds = (performance.now() - t0) / 1000;
  await waitForQueueIdle(env, 300_000);
  const google = tally(env.emulator.calls);
  const microsoft = tally(env.microsoft.calls);
  const after: ChannelRow[] = await env.dataSource.query(
    `SELECT "id", "channelId", "channelExpiration" FROM "SelectedCalendar" WHERE "id" = ANY($1::int[])`,
    [population.calendars.map((c) => c.id)],
  );
  const beforeById = new Map(before.map((r) => [r.id, r]));
  let untouchedOutside = 0;
  let renewedInside = 0;
  for (const row of after) {
    const old = beforeById.get(row.id);
    const same =
      old?.channelId === row.channelId &&
      new Date(old?.channelExpiration ?? 0).getTime() === new Date(row.channelExpiration ?? 0).getTime();
    if (subsetIds.has(row.id)) {
      if (row.channelExpiration && new Date(row.channelExpiration).getTime() > Date.now() + 2 * 3600_000) renewedInside += 1;
    } else if (same) untouchedOutside += 1;
  }
  const googleSubset = subset.filter((c) => c.provider === 'google_calendar').length;
  const graphSubset = subset.length - googleSubset;
  const providerCalls =
    (google['events.watch'] ?? 0) +
    (google['channels.stop'] ?? 0) +
    (microsoft['subscriptions.update'] ?? 0) +
    (microsoft['subscriptions.create'] ?? 0) +
    (microsoft['subscriptions.delete'] ?? 0);
  const channels = await checkChannels(env, population);
  return {
    inWindow: subset.length,
    summary,
    seconds: round(seconds, 2),
    renewedInside,
    untouchedOutside,
    providerCalls,
    expectedCalls: 2 * googleSubset + graphSubset,
    calls: { google, microsoft },
    channelsAfter: channels,
  };
}

// ---- resync sweep -----------------------------------------------------------------------------------

/**
 * `resync-calendars` over every calendar: it enqueues one keyed sync job per subscribed calendar;
 * the sweep is over when the queue is idle again. Database time is every statement's round trip
 * as the service's pg clients see it (TypeORM's pool and graphile-worker's, metered inside the
 * service process by the bench's probe), summed: pg_stat_statements
 * is not loaded on the embedded server. One sweep per RESYNC_INTERVAL_SECONDS keeps up when it
 * finishes well inside the interval and leaves no backlog behind.
 */
async function resyncSweep(env: ScaleEnv, population: Population) {
  const backlog = async () =>
    Number(
      (
        await env.dataSource.query<Array<{ n: string }>>(
          `SELECT count(*)::text AS n FROM graphile_worker.jobs WHERE attempts < max_attempts`,
        )
      )[0].n,
    );
  const backlogBefore = await backlog();
  const before = await scrapeIntakeCounters(env.baseUrl);
  const postgres = await postgresCpu(env.dataSource);
  const meter = await env.service.meterDatabase();
  let db: { statements: number; ms: number };
  let enqueueSeconds: number;
  let drainSeconds: number;
  let result: Record<string, number>;
  try {
    const t0 = performance.now();
    result = await runTask(env, 'resync-calendars');
    enqueueSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await waitForQueueIdle(env, 600_000);
    drainSeconds = (performance.now() - t1) / 1000;
  } finally {
    db = await meter.stop();
  }
  const postgresMs = await postgres.stop();
  const after = await scrapeIntakeCounters(env.baseUrl);
  const enqueued = Number(result.enqueued ?? 0);
  return {
    postgresCpuMs: postgresMs === null ? null : round(postgresMs, 0),
    postgresCpuMsPerCalendar: postgresMs === null || !enqueued ? null : postgresMs / enqueued,
    calendars: population.calendars.length,
    enqueued,
    enqueueSeconds: round(enqueueSeconds, 2),
    drainSeconds: round(drainSeconds, 2),
    syncRuns: after.syncRuns - before.syncRuns,
    databaseStatements: db.statements,
    databaseMs: round(db.ms, 0),
    dbMsPerCalendar: enqueued ? db.ms / enqueued : Number.NaN,
    statementsPerCalendar: enqueued ? db.statements / enqueued : Number.NaN,
    intervalSeconds: RESYNC_INTERVAL_SECONDS,
    shareOfInterval: round((enqueueSeconds + drainSeconds) / RESYNC_INTERVAL_SECONDS, 3),
    backlogBefore,
    backlogAfter: await backlog(),
  };
}

// ---- two replicas -----------------------------------------------------------------------------------

/**
 * Connections a service holds besides its TypeORM pool and its workers' slots: the lanes' slots and
 * 3 more in the queue's pool (`JobWorker`), its liveness connection, one spare.
 */
const QUEUE_CONNECTIONS_BEYOND_WORKERS = WEBHOOKS_LANE_CONCURRENCY + HOST_EVENT_CONSUMERS_LANE_CONCURRENCY + 3 + 1 + 1;

/**
 * The replica's TypeORM pool: the service's size where the server has room for it. A whole `npm run
 * bench` on PostgreSQL's default `max_connections` (100) holds the in-process app of the other
 * benches, the service and the bench's own connections; a second full pool went past it ("too many
 * clients"). Pools grow on demand, so the room is counted against the primary service's full
 * pools, not its connections of the moment.
 */
async function replicaPoolSize(env: ScaleEnv): Promise<number> {
  const [row]: Array<{ max: number; reserved: number; used: number; service: number }> = await env.dataSource.query(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int AS reserved,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = current_database())::int AS service`,
  );
  const perService = env.config.databasePoolSize + env.config.workerConcurrency + QUEUE_CONNECTIONS_BEYOND_WORKERS;
  // The primary's pools at their fullest, less what it (and the bench, on this database) holds now.
  const free = row.max - row.reserved - row.used - Math.max(0, perService - row.service);
  const room = free - (env.config.workerConcurrency + QUEUE_CONNECTIONS_BEYOND_WORKERS);
  return Math.max(2, Math.min(env.config.databasePoolSize, room));
}

/**
 * A second service process on the same database: the same entry point and environment (keys,
 * emulators, webhook tokens), its own port and queue worker, as a second replica behind a load
 * balancer would run. REPLICA_PUSHES Google calendars each get a new event in the emulator
 * (silently), then one push each, alternating between the two processes, 16 in flight. Each push
 * must be accepted by the instance it reached, lead to exactly one sync run (on either instance's
 * worker), one listing of that calendar, and the new event in the cache. The replica is stopped
 * (SIGTERM) at the end; its RSS and peak at that moment are in the JSON.
 */
async function twoReplicas(
  env: ScaleEnv,
  population: Population,
  services: ServiceProcess[],
  log: (line: string) => void,
  note: (line: string) => void,
) {
  const port = await freePort();
  const logFile = join(RESULTS_DIR, 'scale-replica.log');
  rmSync(logFile, { force: true });
  const poolSize = await replicaPoolSize(env);
  if (poolSize < env.config.databasePoolSize) {
    note(
      `the replica ran with DATABASE_POOL_SIZE=${poolSize} (the service: ${env.config.databasePoolSize}): the PostgreSQL ` +
        `server had no room for another full pool beside the run's other clients`,
    );
  }
  const replica = new ServiceProcess(
    'scale replica',
    port,
    {
      ...env.settings,
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATABASE_POOL_SIZE: String(poolSize),
    },
    logFile,
  );
  services.push(replica);
  try {
    const readyMs = await replica.start();
    log(`replica: pid ${replica.pid} on ${replica.url}, ready in ${(readyMs / 1000).toFixed(1)} s`);
    const targets = population.calendars.filter((c) => c.provider === 'google_calendar').slice(0, REPLICA_PUSHES);
    const rows: ChannelRow[] = await env.dataSource.query(
      `SELECT "id", "channelId", "channelResourceId", "channelResourceUri" FROM "SelectedCalendar" WHERE "id" = ANY($1::int[])`,
      [targets.map((c) => c.id)],
    );
    const channelOf = new Map(rows.map((r) => [r.id, r]));
    const start = todayUtc().getTime() + 2 * 86_400_000 + 3 * 3600_000;
    const marker = `replica-${Date.now().toString(36)}`;
    for (const calendar of targets) {
      env.emulator.seedEvents(calendar.externalId, [
        {
          summary: marker,
          start: { dateTime: new Date(start).toISOString() },
          end: { dateTime: new Date(start + 1800_000).toISOString() },
        },
      ]);
    }
    const instances = [env.service, replica];
    const before = await Promise.all(instances.map((i) => scrapeIntakeCounters(i.url, 'google_calendar')));
    env.emulator.resetCalls();
    let next = 0;
    let sent = 0;
    const failures: string[] = [];
    const lane = async () => {
      while (next < targets.length) {
        const index = next++;
        const row = channelOf.get(targets[index].id);
        const target = instances[index % 2];
        const res = await fetch(`${target.url}${WEBHOOK_PATH}`, {
          method: 'POST',
          headers: {
            'x-goog-channel-id': row?.channelId ?? '',
            'x-goog-channel-token': env.config.google.webhookToken,
            'x-goog-resource-id': row?.channelResourceId ?? '',
            'x-goog-resource-uri': row?.channelResourceUri ?? '',
            'x-goog-resource-state': 'exists',
            'x-goog-message-number': '2',
          },
        });
        sent += 1;
        if (res.status !== 200) failures.push(`HTTP ${res.status}`);
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    await waitForQueueIdle(env, 120_000);
    await sleep(200); // a debounced job enqueued at the very end is visible to the idle check by now; check again
    await waitForQueueIdle(env, 120_000);
    const after = await Promise.all(instances.map((i) => scrapeIntakeCounters(i.url, 'google_calendar')));
    const accepted = instances.reduce(
      (sum, _, k) => sum + ((after[k].pushes.accepted ?? 0) - (before[k].pushes.accepted ?? 0)),
      0,
    );
    const syncRunsEach = instances.map((_, k) => after[k].syncRuns - before[k].syncRuns);
    const applied: Array<{ n: string }> = await env.dataSource.query(
      `SELECT count(*)::text AS n FROM "CalendarCacheEvent" e
        WHERE e."selectedCalendarId" = ANY($1::int[]) AND e."start" = to_timestamp($2::float8 / 1000)`,
      [targets.map((c) => c.id), start],
    );
    const listings = new Map<string, number>();
    for (const call of env.emulator.calls) {
      if (call.operation !== 'events.list' || !call.calendarId) continue;
      listings.set(call.calendarId, (listings.get(call.calendarId) ?? 0) + 1);
    }
    const listedTwice = targets.filter((c) => (listings.get(c.externalId) ?? 0) > 1).length;
    const result = {
      pushes: sent,
      failures: failures.length,
      accepted,
      syncRuns: syncRunsEach[0] + syncRunsEach[1],
      syncRunsPerInstance: syncRunsEach,
      applied: Number(applied[0].n),
      listedTwice,
      calendarsNeverListed: targets.filter((c) => !listings.has(c.externalId)).length,
      replicaMemoryMb: memoryMb(replica.memory()),
    };
    log(`two replicas: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await replica.stop();
  }
}

function memoryMb(m: ProcessMemory): { rss: number; peak: number } {
  return { rss: mb(m.rss), peak: mb(m.peak) };
}
