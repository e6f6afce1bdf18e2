/**
 * A user base far past one team (issue 13): 2,000 users with 3 calendars each, Google and Outlook
 * alternating, and 1,000,000 cached events. The users, credentials (sealed by the app's own
 * cipher), selected calendars and the cache flag are written with SQL, and the cached events with
 * `generate_series`: the API path would take minutes for what is only set-up. The channels come
 * from the real `subscribe-calendars` task against the emulators, and every figure after that goes
 * through the application: busy times over HTTP's pipeline, the renewal sweep, the safety-net
 * resync sweep, pushes over two replicas on one PostgreSQL.
 *
 * `SCALE_USERS` and `SCALE_EVENTS` shrink it for a quick look (e.g. 200 and 100000); the targets
 * are the for the full size.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { CredentialAuthFactory } from '../src/modules/connections/index.js';
import { CachedBusyTimelinesReadModel } from '../src/modules/sync/read-models/cached-busy-timelines.read-model.js';
import type { Bench, BenchContext } from './support/bench.js';
import { type BenchApp, sleep, startBenchApp } from './support/bench-env.js';
import { CACHE_FLAG, runTask, todayUtc, waitForQueueIdle } from './support/hosts.js';
import { intakeCounters } from './support/intake.js';
import type { BenchReport } from './support/report.js';
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
/** Linux's USER_HZ, the unit of the CPU times in /proc/<pid>/stat. */
const CLOCK_TICKS = 100;

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

export const scaleBench: Bench = {
  name: 'scale',
  description:
    `${USERS.toLocaleString('en-US')} users × ${CALENDARS_PER_USER} calendars (Google and Outlook), ` +
    `${EVENTS.toLocaleString('en-US')} cached events: busy times, subscribe and renew, resync sweep, two replicas, memory`,
  // Set-up, 6,000 channels and their catch-up syncs, a 6,000-calendar sweep: minutes, not the usual 2.
  timeoutMs: 15 * 60_000,

  async run({ env, log }: BenchContext, report: BenchReport): Promise<void> {
    const settings = { users: USERS, calendarsPerUser: CALENDARS_PER_USER, events: EVENTS, spreadDays: SPREAD_DAYS };
    report.details.settings = settings;
    if (env.config.syncWindowDays < SPREAD_DAYS + 2) {
      throw new Error(`SYNC_WINDOW_DAYS (${env.config.syncWindowDays}) is too short for events spread over ${SPREAD_DAYS} days`);
    }

    const rssAtStart = process.memoryUsage().rss;
    // ---- set-up: accounts in the emulators, rows in SQL ----------------------------------------
    let t0 = performance.now();
    const population = await populate(env);
    const setupSeconds = (performance.now() - t0) / 1000;
    log(`${population.userIds.length} users, ${population.calendars.length} calendars set up in ${setupSeconds.toFixed(1)} s`);
    report.add('set-up: users, credentials, calendars (SQL + emulators)', setupSeconds, 's');

    // ---- subscribe-calendars for every calendar ------------------------------------------------
    env.emulator.resetCalls();
    env.microsoft.resetCalls();
    const runsBefore = await intakeCounters(env);
    t0 = performance.now();
    const subscribeMeter = meterDatabase();
    let subscribed: Record<string, number>;
    try {
      subscribed = await runTask(env, 'subscribe-calendars');
    } finally {
      subscribeMeter.stop();
    }
    const subscribeSeconds = (performance.now() - t0) / 1000;
    log(`subscribe-calendars: ${JSON.stringify(subscribed)} in ${subscribeSeconds.toFixed(1)} s; waiting for the catch-up syncs`);
    t0 = performance.now();
    await waitForQueueIdle(env, 600_000);
    const catchUpSeconds = (performance.now() - t0) / 1000;
    const runsAfter = await intakeCounters(env);
    const channels = await checkChannels(env, population);
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
          `and the catch-up syncs running meanwhile) took ${(subscribeMeter.ms / population.calendars.length).toFixed(1)} ms ` +
          `per calendar in all (${(subscribeMeter.statements / population.calendars.length).toFixed(1)} statements); the rest is ` +
          `the provider calls (Google watch; Graph create, which validates the URL with the app first) and the Node process ` +
          `that runs the app and both emulators`,
      );
    }
    report.details.subscribe = {
      summary: subscribed,
      seconds: round(subscribeSeconds, 2),
      msPerCalendar: round(perCalendarMs, 2),
      databaseStatementsDuringTask: subscribeMeter.statements,
      databaseMsDuringTask: round(subscribeMeter.ms, 0),
      catchUpSeconds: round(catchUpSeconds, 2),
      catchUpSyncRuns: runsAfter.syncRuns - runsBefore.syncRuns,
      channels,
      providerCalls: { google: tally(env.emulator.calls), microsoft: tally(env.microsoft.calls) },
    };

    // ---- busy times: one user's events alone, then 1,000,000 ---------------------------------
    const solo = population.userIds[0];
    t0 = performance.now();
    await seedCache(env, population.byUser.get(solo) ?? [], perCalendar(population.calendars.length));
    let seedSeconds = (performance.now() - t0) / 1000;
    const busyPath = busyTimesPath();
    const alone = await measureBusyTimes(env, () => solo, population.byUser);
    log(
      `busy times, 1 user's events in the cache: cold p50 ${alone.cold.p50.toFixed(2)} ms, warm p50 ${alone.warm.p50.toFixed(2)} ms`,
    );
    const others = population.calendars.filter((c) => c.userId !== solo);
    t0 = performance.now();
    await seedCache(env, others, perCalendar(population.calendars.length), population.byUser.get(solo)?.length ?? 0);
    seedSeconds += (performance.now() - t0) / 1000;
    await env.dataSource.query(`VACUUM ANALYZE "CalendarCacheEvent"`).catch(() => undefined);
    const cachedRows = Number(
      (await env.dataSource.query<Array<{ n: string }>>(`SELECT count(*)::text AS n FROM "CalendarCacheEvent"`))[0].n,
    );
    log(`${cachedRows} cached events seeded in ${seedSeconds.toFixed(1)} s`);
    report.add('cached events in the database (SQL seed)', cachedRows, 'rows', { op: '>=', value: EVENTS });
    report.add('cached events: seed time (generate_series)', seedSeconds, 's', { op: '<', value: 60 });
    const random = () => population.userIds[Math.floor(Math.random() * population.userIds.length)];
    const crowd = await measureBusyTimes(env, random, population.byUser);
    const soloAgain = await measureBusyTimes(env, () => solo, population.byUser);
    log(
      `busy times, a random user of ${population.userIds.length}: p50 ${crowd.cold.p50.toFixed(2)} ms p99 ${crowd.cold.p99.toFixed(2)} ms ` +
        `(1 user alone: p50 ${alone.cold.p50.toFixed(2)} ms p99 ${alone.cold.p99.toFixed(2)} ms)`,
    );
    report.add(`busy times, a random user, ${cachedRows.toLocaleString('en-US')} events: p50`, crowd.cold.p50, 'ms', {
      op: '<',
      value: 3,
    });
    report.add('busy times, a random user: p99', crowd.cold.p99, 'ms', { op: '<', value: 10 });
    report.add('busy times, 1 user, only its events cached: p50 (same query)', alone.cold.p50, 'ms');
    report.add('busy times, 1 user, only its events cached: p99', alone.cold.p99, 'ms');
    report.add('busy times, same user repeated (memoized), 1M rows / alone: p50', soloAgain.warm.p50, 'ms');
    report.add('busy times, random user, source cache', crowd.cacheAnswers, '%', { op: '=', value: 100 });
    report.details.busyTimes = {
      path: busyPath,
      rangeDays: RANGE_DAYS,
      alone: describeBusy(alone),
      crowd: describeBusy(crowd),
      aloneAfterSeed: describeBusy(soloAgain),
      seedSeconds: round(seedSeconds, 2),
      cachedRows,
    };
    if (crowd.cold.p99 >= 10 || crowd.cold.p50 >= 3) {
      // Where a cold request's time goes: the read model's one query (the calendars' merged
      // timelines, as the request makes it) against the whole request.
      const timelines = env.app.get(CachedBusyTimelinesReadModel);
      const from = Math.ceil(Date.now() / 3600_000) * 3600_000;
      const reads = summarize(
        await timeSequential(BUSY_REQUESTS, async () => {
          const ids = (population.byUser.get(random()) ?? []).map((c) => c.id);
          await timelines.read(ids, from, from + RANGE_DAYS * 86_400_000, 'UTC');
        }),
      );
      const plan = await explainBusyRead(env, population.byUser.get(random()) ?? []);
      report.note(
        `busy times missed: a random user's request p50 ${crowd.cold.p50.toFixed(2)} ms, of which the timeline query ` +
          `(CachedBusyTimelinesReadModel, its 3 calendars over ${RANGE_DAYS} days, timed alone) p50 ${reads.p50.toFixed(2)} ms ` +
          `p99 ${reads.p99.toFixed(2)} ms; the same user's request answered from the memo p50 ${soloAgain.warm.p50.toFixed(2)} ms ` +
          `(the pipeline, the calendars' row and the flags); the rows' plan: ${plan}`,
      );
      report.details.busyTimes = { ...(report.details.busyTimes as object), timelineQueryMs: roundSummary(reads, 3) };
    }

    // ---- renewal sweep: only the channels inside the window -----------------------------------
    const renewal = await renewalSweep(env, population);
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
    const sweep = await resyncSweep(env, population);
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
          `of wall time per calendar with WORKER_CONCURRENCY ${env.config.workerConcurrency}`,
      );
    }

    // ---- two replicas on one PostgreSQL ---------------------------------------------------------
    const replicas = await twoReplicas(env, population, log);
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
    const memory = process.memoryUsage();
    const collected = collectGarbage() ? process.memoryUsage() : null;
    const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);
    report.add('process RSS after the run (runner + app + both emulators)', mb(memory.rss), 'MB', { op: '<', value: 300 });
    report.add('of which V8 heap used', mb(memory.heapUsed), 'MB');
    if (collected) report.add('process RSS after a full garbage collection', mb(collected.rss), 'MB');
    report.add('process RSS before the set-up (same process, after the other benches)', mb(rssAtStart), 'MB');
    report.details.memoryMb = {
      atStart: mb(rssAtStart),
      rss: mb(memory.rss),
      heapTotal: mb(memory.heapTotal),
      heapUsed: mb(memory.heapUsed),
      external: mb(memory.external),
      arrayBuffers: mb(memory.arrayBuffers),
      afterFullGc: collected && { rss: mb(collected.rss), heapUsed: mb(collected.heapUsed), external: mb(collected.external) },
      includes:
        'one Node process: the bench runner, the application (one instance; the replica is closed by then), the Google and ' +
        'Graph emulators holding 2,000 accounts, 6,000 calendars and their channels and call logs',
    };
    report.note(
      `RSS is the whole bench process: runner, app, and both emulators with ${population.calendars.length} calendars ` +
        `and their call logs (heap used ${mb(memory.heapUsed)} MB, external ${mb(memory.external)} MB)`,
    );

    await cleanUp(env, population);
  },
};

/**
 * A full garbage collection, so the memory figures after it show what is live rather than what V8
 * has not collected yet. `global.gc` exists only with --expose-gc; the flag can still be set at
 * run time, and a new context then sees `gc`. False when neither works.
 */
function collectGarbage(): boolean {
  try {
    if (typeof globalThis.gc !== 'function') setFlagsFromString('--expose-gc');
    const gc = (globalThis.gc ?? runInNewContext('gc')) as (() => void) | undefined;
    if (typeof gc !== 'function') return false;
    gc();
    return true;
  } catch {
    return false;
  }
}

// ---- set-up ---------------------------------------------------------------------------------------

/**
 * 2,000 accounts in the emulators (even users Google, odd Outlook), each with two calendars beside
 * its primary one; then the users, credentials (sealed by the app for their row id), selected
 * calendars and the cache flag in four statements.
 */
async function populate(env: BenchApp): Promise<Population> {
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
  const cipher = env.app.get(CredentialAuthFactory);
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
  env: BenchApp,
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
async function checkChannels(env: BenchApp, population: Population) {
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

/**
 * `GET /api/v1/users/:id/busy-times` through Fastify's inject (the whole Nest pipeline, no
 * socket), as the busy-times bench measures it. `cold`: `pick` chooses the user of each request;
 * when it is always the same user, that user's cache version moves before each request
 * (untimed), so every timed request reads its events from PostgreSQL, as a random user's does.
 * `warm`: the same request repeated, answered from the memo.
 */
async function measureBusyTimes(
  env: BenchApp,
  pick: () => number,
  byUser: Map<number, ScaleCalendar[]>,
): Promise<BusyMeasurement> {
  const fastify = env.app.getHttpAdapter().getInstance();
  const authorization = `Bearer ${env.config.apiKey}`;
  const query = busyTimesPath();
  let fromCache = 0;
  let answers = 0;
  const ask = async (userId: number) => {
    const res = await fastify.inject({
      method: 'GET',
      url: `/api/v1/users/${userId}/busy-times?${query}`,
      headers: { authorization },
    });
    if (res.statusCode !== 200)
      throw new Error(`busy-times for user ${userId}: HTTP ${res.statusCode} ${res.body.slice(0, 300)}`);
    answers += 1;
    if ((res.json() as { source: string }).source === 'cache') fromCache += 1;
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
async function explainBusyRead(env: BenchApp, calendars: ScaleCalendar[]): Promise<string> {
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
async function renewalSweep(env: BenchApp, population: Population) {
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
 * as the app's pg clients see it (TypeORM's pool and graphile-worker's), summed: pg_stat_statements
 * is not loaded on the embedded server. One sweep per RESYNC_INTERVAL_SECONDS keeps up when it
 * finishes well inside the interval and leaves no backlog behind.
 */
async function resyncSweep(env: BenchApp, population: Population) {
  const backlog = async () =>
    Number(
      (
        await env.dataSource.query<Array<{ n: string }>>(
          `SELECT count(*)::text AS n FROM graphile_worker.jobs WHERE attempts < max_attempts`,
        )
      )[0].n,
    );
  const backlogBefore = await backlog();
  const before = await intakeCounters(env);
  const postgres = await postgresCpu(env);
  const meter = meterDatabase();
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
    meter.stop();
  }
  const postgresMs = await postgres.stop();
  const after = await intakeCounters(env);
  const enqueued = Number(result.enqueued ?? 0);
  return {
    postgresCpuMs: postgresMs === null ? null : round(postgresMs, 0),
    postgresCpuMsPerCalendar: postgresMs === null || !enqueued ? null : postgresMs / enqueued,
    calendars: population.calendars.length,
    enqueued,
    enqueueSeconds: round(enqueueSeconds, 2),
    drainSeconds: round(drainSeconds, 2),
    syncRuns: after.syncRuns - before.syncRuns,
    databaseStatements: meter.statements,
    databaseMs: round(meter.ms, 0),
    dbMsPerCalendar: enqueued ? meter.ms / enqueued : Number.NaN,
    statementsPerCalendar: enqueued ? meter.statements / enqueued : Number.NaN,
    intervalSeconds: RESYNC_INTERVAL_SECONDS,
    shareOfInterval: round((enqueueSeconds + drainSeconds) / RESYNC_INTERVAL_SECONDS, 3),
    backlogBefore,
    backlogAfter: await backlog(),
  };
}

/**
 * CPU time of the database's backends (user + system, from /proc), when PostgreSQL runs on this
 * machine as the embedded server does: the work the statements cost PostgreSQL, without the waits
 * that a statement's round trip also counts. Backends are sampled by pid before and after (the
 * pools keep theirs); one that ends in between is missed. Null where /proc is not readable.
 */
async function postgresCpu(env: BenchApp): Promise<{ stop(): Promise<number | null> }> {
  const sample = async (): Promise<Map<number, number> | null> => {
    const rows: Array<{ pid: number }> = await env.dataSource.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type <> 'client backend'`,
    );
    const cpu = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        // A pid of a remote server's backend may be anything here: only PostgreSQL's own processes count.
        if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) continue;
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        cpu.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS);
      } catch {
        // not on this machine, or gone
      }
    }
    return cpu.size > 0 ? cpu : null;
  };
  const before = await sample();
  return {
    async stop() {
      const after = await sample();
      if (!before || !after) return null;
      let ms = 0;
      for (const [pid, value] of after) ms += value - (before.get(pid) ?? 0);
      return ms;
    },
  };
}

/**
 * Sums the time from each statement's send to its result over every pg client in the process
 * (TypeORM's pool and graphile-worker's use the same `pg` module) until `stop`.
 */
function meterDatabase(): { statements: number; ms: number; stop(): void } {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const meter = {
    statements: 0,
    ms: 0,
    stop() {
      proto.query = original;
    },
  };
  proto.query = function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    const done = () => {
      meter.statements += 1;
      meter.ms += performance.now() - started;
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (...cb: unknown[]) => {
        done();
        return (last as (...a: unknown[]) => unknown)(...cb);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(done, done);
    }
    return result;
  };
  return meter;
}

// ---- two replicas -----------------------------------------------------------------------------------

/**
 * A second instance of the app on the same database (same keys and emulators, its own port and
 * queue worker). REPLICA_PUSHES Google calendars each get a new event in the emulator (silently),
 * then one push each, alternating between the two instances, 16 in flight. Each push must be
 * accepted by the instance it reached, lead to exactly one sync run (on either instance's worker),
 * one listing of that calendar, and the new event in the cache.
 */
async function twoReplicas(env: BenchApp, population: Population, log: (line: string) => void) {
  const replica = await startBenchApp(env.settings.DATABASE_URL, { replicaOf: env });
  try {
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
    const instances = [env, replica];
    const before = await Promise.all(instances.map((i) => intakeCounters(i, 'google_calendar')));
    env.emulator.resetCalls();
    let next = 0;
    let sent = 0;
    const failures: string[] = [];
    const lane = async () => {
      while (next < targets.length) {
        const index = next++;
        const row = channelOf.get(targets[index].id);
        const target = instances[index % 2];
        const res = await fetch(`${target.baseUrl}${WEBHOOK_PATH}`, {
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
    const after = await Promise.all(instances.map((i) => intakeCounters(i, 'google_calendar')));
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
    };
    log(`two replicas: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await replica.close();
  }
}

// ---- clean-up ---------------------------------------------------------------------------------------

/**
 * The users go with SQL, as they came (cascading to credentials, calendars and cached events);
 * their channels stay open in the emulators, which stop with the run.
 */
async function cleanUp(env: BenchApp, population: Population): Promise<void> {
  for (let from = 0; from < population.userIds.length; from += 500) {
    await env.dataSource.query(`DELETE FROM "User" WHERE "id" = ANY($1::int[])`, [population.userIds.slice(from, from + 500)]);
  }
}
