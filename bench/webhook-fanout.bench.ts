/**
 * Outgoing webhooks fan-out: 1,000 booking changes (API reschedules, 8 in flight) delivered to 3
 * endpoints, each a real HTTP receiver on loopback in this process. Latency is from the change's
 * commit (its event is recorded in the change's transaction: `HostEvent.createdAt`, a moment before
 * the commit, so the figure errs high) to the receiver having the whole request, on the same clock.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bench, BenchContext } from './support/bench.js';
import { expectStatus, sleep } from './support/bench-env.js';
import { createGoogleHost, removeHost, waitForQueueIdle } from './support/hosts.js';
import type { BenchReport } from './support/report.js';
import { round, roundSummary, summarize } from './support/stats.js';

const ENDPOINTS = 3;
const BOOKINGS = 50;
const CHANGES = 1000;
const IN_FLIGHT = 8;
/** The run's budget (the runner stops a bench at 120 s): changes stop being made after this long… */
const CHANGE_BUDGET_MS = 70_000;
/** …and deliveries are awaited this long after the last change. */
const DELIVERY_TIMEOUT_MS = 25_000;

interface Receipt {
  eventId: string;
  at: number;
}

async function startReceiver(receipts: Receipt[]): Promise<Server> {
  const server = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      receipts.push({ eventId: String(req.headers['webhook-id']), at: Date.now() });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export const webhookFanoutBench: Bench = {
  name: 'webhook-fanout',
  description: `outgoing webhooks: ${CHANGES.toLocaleString('en-US')} booking changes to ${ENDPOINTS} endpoints, change commit → receipt`,

  async run({ env, log }: BenchContext, report: BenchReport): Promise<void> {
    // The receivers are on loopback; the bench app runs with production settings, which refuse that.
    const allowPrivate = env.config.webhookAllowPrivateUrls;
    env.config.webhookAllowPrivateUrls = true;
    const receipts: Receipt[][] = Array.from({ length: ENDPOINTS }, () => []);
    const servers: Server[] = [];
    const endpointIds: number[] = [];
    const host = await createGoogleHost(env, 'fanout', { destination: true });
    try {
      for (const list of receipts) servers.push(await startReceiver(list));
      const day = 86_400_000;
      const base = Math.ceil(Date.now() / day) * day + 7 * day;
      const bookingIds: number[] = [];
      for (let i = 0; i < BOOKINGS; i++) {
        const start = base + i * 3_600_000;
        const booking = expectStatus(
          await env.api<{ id: number }>('POST', '/api/v1/bookings', {
            userId: host.userId,
            title: `Fan-out ${i}`,
            startTime: new Date(start).toISOString(),
            endTime: new Date(start + 1_800_000).toISOString(),
            attendees: [],
          }),
          201,
          'create booking',
        );
        bookingIds.push(booking.id);
      }
      await waitForQueueIdle(env, 60_000);
      log(`${BOOKINGS} bookings made and written to the calendar`);
      for (const server of servers) {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
        endpointIds.push(
          expectStatus(await env.api<{ id: number }>('POST', '/api/v1/webhook-endpoints', { url }), 201, 'create endpoint').id,
        );
      }
      const startedAt = new Date();

      log(`${CHANGES} reschedules of ${BOOKINGS} bookings, ${IN_FLIGHT} in flight`);
      let next = 0;
      const changeStarted = performance.now();
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          for (;;) {
            if (performance.now() - changeStarted > CHANGE_BUDGET_MS) return;
            const n = next++;
            if (n >= CHANGES) return;
            const booking = n % BOOKINGS;
            const pass = Math.floor(n / BOOKINGS) + 1;
            // Each booking moves by a few minutes each round, never onto its old time.
            const start = base + booking * 3_600_000 + pass * 60_000;
            const res = await env.api('POST', `/api/v1/bookings/${bookingIds[booking]}/reschedule`, {
              startTime: new Date(start).toISOString(),
              endTime: new Date(start + 1_800_000).toISOString(),
            });
            if (res.status !== 200) throw new Error(`reschedule: HTTP ${res.status} ${JSON.stringify(res.body)}`);
          }
        }),
      );
      const changeSeconds = (performance.now() - changeStarted) / 1000;
      const made = Math.min(next, CHANGES);
      if (made < CHANGES)
        report.note(`only ${made} of ${CHANGES} changes made within ${CHANGE_BUDGET_MS / 1000} s (a loaded machine)`);
      log(
        `changes made in ${round(changeSeconds, 1)} s; ${receipts.reduce((n, r) => n + r.length, 0)} deliveries received so far`,
      );

      const expected = made * ENDPOINTS;
      const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
      while (receipts.reduce((n, r) => n + r.length, 0) < expected && performance.now() < deadline) await sleep(20);
      const deliverySeconds = (performance.now() - changeStarted) / 1000;

      const events: Array<{ id: string; createdAt: Date }> = await env.dataSource.query(
        `SELECT "id", "createdAt" FROM "HostEvent" WHERE "type" = 'booking.rescheduled' AND "createdAt" >= $1`,
        [startedAt],
      );
      const committedAt = new Map(events.map((e) => [e.id, new Date(e.createdAt).getTime()]));
      const latencies: number[] = [];
      let duplicates = 0;
      let unknown = 0;
      for (const list of receipts) {
        const seen = new Set<string>();
        for (const receipt of list) {
          if (seen.has(receipt.eventId)) duplicates += 1;
          seen.add(receipt.eventId);
          const at = committedAt.get(receipt.eventId);
          if (at === undefined) unknown += 1;
          else latencies.push(receipt.at - at);
        }
      }
      const received = receipts.reduce((n, r) => n + r.length, 0);
      const summary = summarize(latencies);
      log(
        `${received}/${expected} deliveries, p50 ${round(summary.p50, 1)} ms, p99 ${round(summary.p99, 1)} ms, ` +
          `changes in ${round(changeSeconds, 1)} s, all delivered after ${round(deliverySeconds, 1)} s`,
      );
      report.add('commit → receipt p50', round(summary.p50, 1), 'ms', { op: '<', value: 100 });
      report.add('commit → receipt p99', round(summary.p99, 1), 'ms');
      report.add('deliveries received', received, `of ${expected}`, { op: '>=', value: expected });
      report.add('booking changes made', made, 'changes', { op: '>=', value: CHANGES });
      report.add('changes/s through the API', round(made / changeSeconds, 0), '/s');
      report.add('deliveries/s', round(received / deliverySeconds, 0), '/s');
      report.details.latencyMs = roundSummary(summary);
      report.details.duplicates = duplicates;
      report.details.unknownEventIds = unknown;
      report.details.events = events.length;
      if (duplicates > 0) report.note(`${duplicates} duplicate deliveries (at-least-once retries)`);
    } finally {
      for (const id of endpointIds) await env.api('DELETE', `/api/v1/webhook-endpoints/${id}`);
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      env.config.webhookAllowPrivateUrls = allowPrivate;
      await removeHost(env, host).catch(() => undefined);
    }
  },
};
