/**
 * Graph notification intake: Outlook change notifications per second and their latency with 64
 * concurrent connections on loopback, beside a bare Fastify route in the same process (the
 * ceiling this machine allows), as `webhook-intake` does for Google. Each POST is what Graph sends
 * when ten calendars of a mailbox change within its batching window: `{value: [...]}` with one
 * item for each of 10 real subscriptions (made by `subscribe-calendars` against the Graph
 * emulator), carrying our clientState, so every item is verified, looked up and turned into a
 * debounced sync job of its calendar, and those jobs (calendarView delta over HTTPS against the
 * Graph emulator) really run meanwhile. Every answer must be 202.
 */
import type { Bench, BenchContext } from './support/bench.js';
import {
  CACHE_FLAG,
  createOutlookHost,
  removeHost,
  runTask,
  selectCalendar,
  setUserFlag,
  waitForQueueIdle,
} from './support/hosts.js';
import { diffCounts, intakeCounters, startBareServer } from './support/intake.js';
import { type LoadRequest, type LoadResult, runLoad } from './support/load.js';
import type { BenchReport } from './support/report.js';
import { median, round, roundSummary } from './support/stats.js';

const CONNECTIONS = 64;
const DURATION_SECONDS = 5;
const WARMUP_SECONDS = 1;
const ROUNDS = 3;
const CALENDARS = 10;
const WEBHOOK_PATH = '/api/webhooks/calendar-subscription/office365_calendar';
/** What Graph's notification POSTs carry (the emulator's webhook client sends exactly this). */
const CONTENT_TYPE = 'application/json; charset=utf-8';

type Variant = 'bare' | 'bare-body' | 'graph';
const VARIANTS: Variant[] = ['bare', 'bare-body', 'graph'];

interface ChannelRow {
  id: number;
  externalId: string;
  channelId: string | null;
}

export const graphIntakeBench: Bench = {
  name: 'graph-intake',
  description:
    `Graph notification intake: POSTs of ${CALENDARS} items for ${CALENDARS} subscriptions, ${CONNECTIONS} connections ` +
    `on loopback vs a bare Fastify route (${ROUNDS} rounds × ${DURATION_SECONDS} s each)`,

  async run({ env, log }: BenchContext, report: BenchReport): Promise<void> {
    // One mailbox with 10 calendars, each with an event, all selected with the cache flag on.
    const host = await createOutlookHost(env, 'graph-intake');
    const calendarIds = [host.primaryCalendarId];
    for (let i = 1; i < CALENDARS; i++)
      calendarIds.push(env.microsoft.addCalendar(host.email, { name: `Intake calendar ${i}` }).id);
    const start = new Date(Date.now() + 2 * 86_400_000);
    start.setUTCHours(9, 0, 0, 0);
    for (const calendarId of calendarIds) {
      env.microsoft.seedEvents(calendarId, [
        {
          subject: 'Intake event',
          start: { dateTime: start.toISOString().slice(0, 19), timeZone: 'UTC' },
          end: { dateTime: new Date(start.getTime() + 30 * 60_000).toISOString().slice(0, 19), timeZone: 'UTC' },
        },
      ]);
    }
    const selectedIds: number[] = [];
    for (const externalId of calendarIds) selectedIds.push(await selectCalendar(env, host, externalId));
    await setUserFlag(env, CACHE_FLAG, host.userId);
    const subscribed = await runTask(env, 'subscribe-calendars');
    await waitForQueueIdle(env, 60_000);
    const rows: ChannelRow[] = await env.dataSource.query(
      `SELECT "id", "externalId", "channelId" FROM "SelectedCalendar" WHERE "id" = ANY($1::int[]) ORDER BY "id"`,
      [selectedIds],
    );
    const subscriptions = new Map(env.microsoft.subscriptions().map((s) => [s.id, s]));
    const live = rows.filter((r) => r.channelId && subscriptions.get(r.channelId)?.expired === false);
    if (live.length !== CALENDARS) {
      throw new Error(`expected ${CALENDARS} live Graph subscriptions, got ${live.length} (${JSON.stringify(subscribed)})`);
    }

    // The body exactly as the Graph emulator's notification sender writes it (key order included).
    const value = live.map((row) => {
      const subscription = subscriptions.get(row.channelId as string)!;
      const event = env.microsoft.listEvents(row.externalId)[0];
      const eventId = event.id;
      const resource = `Users/${host.graphUserId}/Events/${eventId}`;
      return {
        subscriptionId: subscription.id,
        subscriptionExpirationDateTime: `${subscription.expirationDateTime.slice(0, 23)}0000+00:00`,
        changeType: 'updated',
        resource,
        resourceData: {
          '@odata.type': '#Microsoft.Graph.Event',
          '@odata.id': resource,
          '@odata.etag': event['@odata.etag'],
          id: eventId,
        },
        clientState: subscription.clientState ?? null,
        tenantId: env.microsoft.tenantId,
      };
    });
    if (value.some((item) => item.clientState !== env.config.microsoft.webhookToken)) {
      throw new Error('a Graph subscription does not carry the configured clientState');
    }
    const body = JSON.stringify({ value });
    const notification: LoadRequest = {
      method: 'POST',
      path: WEBHOOK_PATH,
      headers: { 'content-type': CONTENT_TYPE, 'user-agent': 'Microsoft-Graph-Emulator/1.0' },
      body,
    };

    // Every item must really be accepted (not ignored as an unknown subscription) for the figures to mean anything.
    const probe = await fetch(`${env.baseUrl}${WEBHOOK_PATH}`, { method: 'POST', headers: notification.headers, body });
    const probeBody = (await probe.json()) as { results?: string[] };
    if (probe.status !== 202 || probeBody.results?.length !== CALENDARS || probeBody.results.some((r) => r !== 'accepted')) {
      throw new Error(`a valid Graph notification was not accepted: HTTP ${probe.status} ${JSON.stringify(probeBody)}`);
    }
    await waitForQueueIdle(env);

    // The baseline of webhook-intake (an empty POST), and the same route receiving this very body
    // (Fastify parses the JSON), answering 202 with the same kind of reply the intake writes.
    const reply = JSON.stringify({ results: new Array<string>(CALENDARS).fill('accepted') });
    const bare = await startBareServer((server) => {
      server.post('/bare', async () => ({ result: 'accepted' }));
      server.post('/bare-body', async (_request, answer) => {
        await answer.code(202).type(CONTENT_TYPE).send(reply);
      });
    });

    const runs: Record<Variant, LoadResult[]> = { bare: [], 'bare-body': [], graph: [] };
    const jobsRun: Record<Variant, number[]> = { bare: [], 'bare-body': [], graph: [] };
    const itemResults: Record<Variant, Array<Record<string, number>>> = { bare: [], 'bare-body': [], graph: [] };
    try {
      for (let r = 0; r < ROUNDS; r++) {
        // Rotate the order so no variant always runs first (or right after the intake's background syncs).
        const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]);
        for (const variant of order) {
          await waitForQueueIdle(env, 30_000);
          const before = await intakeCounters(env, 'office365_calendar');
          const result = await runLoad({
            url: variant === 'graph' ? env.baseUrl : bare.url,
            connections: CONNECTIONS,
            durationSeconds: DURATION_SECONDS,
            warmupSeconds: WARMUP_SECONDS,
            requests:
              variant === 'bare'
                ? [{ method: 'POST', path: '/bare' }]
                : variant === 'bare-body'
                  ? [{ ...notification, path: '/bare-body' }]
                  : [notification],
          });
          await waitForQueueIdle(env, 30_000);
          const after = await intakeCounters(env, 'office365_calendar');
          jobsRun[variant].push(after.syncRuns - before.syncRuns);
          itemResults[variant].push(diffCounts(after.pushes, before.pushes));
          runs[variant].push(result);
          log(
            `round ${r + 1} ${variant.padEnd(9)} ${Math.round(result.throughput).toString().padStart(6)} req/s  ` +
              `p50 ${result.latency.p50.toFixed(2)} ms  p99 ${result.latency.p99.toFixed(2)} ms  ` +
              `statuses ${JSON.stringify(result.statuses)}  errors ${result.errors}  CPU ${result.cpuMicrosPerResponse.toFixed(1)} µs/req`,
          );
        }
      }
    } finally {
      await bare.close();
    }

    const throughput = (v: Variant) => median(runs[v].map((r) => r.throughput));
    const p50 = (v: Variant) => median(runs[v].map((r) => r.latency.p50));
    const p99 = (v: Variant) => median(runs[v].map((r) => r.latency.p99));
    // Ratio per round (bare and intake ran back to back), then the median: steadier on a noisy machine.
    const ratio = (v: Variant, base: Variant) => median(runs[v].map((r, i) => (100 * r.throughput) / runs[base][i].throughput));

    report.add('bare Fastify route: throughput', throughput('bare'), 'req/s');
    report.add('bare Fastify route: p50', p50('bare'), 'ms');
    report.add('bare Fastify route: p99', p99('bare'), 'ms');
    report.add(`bare route given the same ${CALENDARS}-item body: throughput`, throughput('bare-body'), 'req/s');
    report.add(`intake, ${CALENDARS} items × ${CALENDARS} subscriptions: throughput`, throughput('graph'), 'req/s');
    report.add(`intake: notifications (items) per second`, CALENDARS * throughput('graph'), 'items/s');
    report.add('intake: % of bare (empty POST, as webhook-intake)', ratio('graph', 'bare'), '%', { op: '>=', value: 50 });
    report.add('intake: % of bare given the same body', ratio('graph', 'bare-body'), '%', { op: '>=', value: 50 });
    report.add('bare route given the same body: % of bare', ratio('bare-body', 'bare'), '%');
    // The server process's CPU per request (see webhook-intake): steadier than throughput here.
    const cpu = (v: Variant) => median(runs[v].map((r) => r.cpuMicrosPerResponse));
    report.add('bare Fastify route: server CPU per request', cpu('bare'), 'µs');
    report.add('bare route given the same body: server CPU per request', cpu('bare-body'), 'µs');
    report.add('intake: server CPU per request', cpu('graph'), 'µs');
    report.add('intake: p50', p50('graph'), 'ms');
    report.add('intake: p99', p99('graph'), 'ms', { op: '<', value: 20 });
    const not202 = runs.graph.reduce(
      (sum, r) =>
        sum +
        Object.entries(r.statuses).reduce((n, [status, count]) => n + (status === '202' ? 0 : count), 0) +
        r.errors +
        r.timeouts,
      0,
    );
    report.add('intake: answers other than 202 (and errors)', not202, '', { op: '<=', value: 0, label: '0' });
    const ignored = itemResults.graph.reduce(
      (sum, byResult) =>
        sum + Object.entries(byResult).reduce((n, [result, count]) => n + (result === 'accepted' ? 0 : count), 0),
      0,
    );
    if (ignored > 0) report.note(`${ignored} notification items were not accepted (see details.rounds.graph[].itemResults)`);
    report.note(
      `sync runs triggered per ${DURATION_SECONDS}+${WARMUP_SECONDS} s load (median): ${median(jobsRun.graph)} ` +
        `for ${CALENDARS} calendars`,
    );

    report.details.settings = {
      connections: CONNECTIONS,
      durationSeconds: DURATION_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      rounds: ROUNDS,
      calendars: CALENDARS,
      bodyBytes: Buffer.byteLength(body),
      logLevel: env.config.logLevel,
      nodeEnv: env.config.env,
      schedulerEnabled: env.config.schedulerEnabled,
    };
    report.details.exampleBody = JSON.parse(body) as unknown;
    report.details.rounds = Object.fromEntries(
      VARIANTS.map((v) => [
        v,
        runs[v].map((r, i) => ({
          throughput: round(r.throughput, 0),
          latencyMs: roundSummary(r.latency, 3),
          responses: r.responses,
          statuses: r.statuses,
          errors: r.errors,
          timeouts: r.timeouts,
          syncRunsTriggered: jobsRun[v][i],
          itemResults: itemResults[v][i],
          autocannon: r.autocannon,
          cpuMicrosPerResponse: round(r.cpuMicrosPerResponse, 1),
        })),
      ]),
    );

    await removeHost(env, host);
  },
};
