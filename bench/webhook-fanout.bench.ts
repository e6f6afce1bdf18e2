/**
 * Outgoing webhooks fan-out: 1,000 booking changes (API reschedules of 50 bookings) delivered to 3
 * endpoints, each a real HTTP receiver on loopback in this process. Latency is from the change's
 * commit (its event is recorded in the change's transaction: `HostEvent.createdAt`, a moment before
 * the commit, so the figure errs high) to the receiver having the whole request, on the same clock.
 *
 * Two phases. **Steady**: the 1,000 changes arrive at a fixed rate (`RATE` per second, open loop:
 * each change starts at its time whether or not the previous ones are done), as a host product's
 * traffic does; the latency target is for this phase. **Saturated**: 300 more changes, 8 in flight
 * back to back, as fast as the API takes them: the most this machine sustains, and the latency
 * when everything queues (context, no target; the app, PostgreSQL, the Google emulator its
 * calendar writes go to and the receivers share 2 cores, so a saturated run measures queueing).
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
/** Steady phase: changes per second offered (a busy host product; each is 3 deliveries). */
const RATE = 15;
/** Saturated phase: changes, and how many are in flight at once. */
const SATURATED_CHANGES = 300;
const IN_FLIGHT = 8;
/** Each phase stops making changes after this long… */
const CHANGE_BUDGET_MS = 90_000;
/** …and its deliveries are awaited this long after its last change. */
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
  timeoutMs: 240_000,
  description: `outgoing webhooks: ${CHANGES.toLocaleString('en-US')} booking changes at ${RATE}/s to ${ENDPOINTS} endpoints, change commit → receipt; then saturated`,

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
      // Each booking moves by a few minutes each time, never onto its old time.
      let moves = 0;
      const reschedule = async () => {
        const n = moves++;
        const booking = n % BOOKINGS;
        const start = base + booking * 3_600_000 + (Math.floor(n / BOOKINGS) + 1) * 60_000;
        const res = await env.api('POST', `/api/v1/bookings/${bookingIds[booking]}/reschedule`, {
          startTime: new Date(start).toISOString(),
          endTime: new Date(start + 1_800_000).toISOString(),
        });
        if (res.status !== 200) throw new Error(`reschedule: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      };

      log(`steady: ${CHANGES} reschedules of ${BOOKINGS} bookings at ${RATE}/s`);
      const steady = await measure(CHANGES, async (budgetLeft) => {
        const started = performance.now();
        const inFlight: Array<Promise<void>> = [];
        let made = 0;
        for (; made < CHANGES && budgetLeft(); made++) {
          const due = started + (made * 1000) / RATE;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          inFlight.push(reschedule());
        }
        await Promise.all(inFlight);
        return made;
      });
      log(steady.line);
      if (steady.made < CHANGES)
        report.note(`steady: only ${steady.made} of ${CHANGES} changes made within ${CHANGE_BUDGET_MS / 1000} s`);
      await waitForQueueIdle(env, 60_000);

      log(`saturated: ${SATURATED_CHANGES} reschedules, ${IN_FLIGHT} in flight back to back`);
      const saturated = await measure(SATURATED_CHANGES, async (budgetLeft) => {
        let made = 0;
        await Promise.all(
          Array.from({ length: IN_FLIGHT }, async () => {
            while (made < SATURATED_CHANGES && budgetLeft()) {
              made += 1;
              await reschedule();
            }
          }),
        );
        return made;
      });
      log(saturated.line);

      report.add(`steady ${RATE} changes/s: commit → receipt p50`, round(steady.summary.p50, 1), 'ms', { op: '<', value: 100 });
      report.add(`steady ${RATE} changes/s: commit → receipt p99`, round(steady.summary.p99, 1), 'ms');
      report.add('steady: deliveries received', steady.received, `of ${steady.expected}`, { op: '>=', value: steady.expected });
      report.add('steady: booking changes made', steady.made, 'changes', { op: '>=', value: CHANGES });
      report.add('saturated: changes/s through the API', round(saturated.made / saturated.changeSeconds, 0), '/s');
      report.add('saturated: deliveries/s', round(saturated.received / saturated.deliverySeconds, 0), '/s');
      report.add('saturated: commit → receipt p50', round(saturated.summary.p50, 1), 'ms');
      report.add('saturated: deliveries received', saturated.received, `of ${saturated.expected}`, {
        op: '>=',
        value: saturated.expected,
      });
      report.details.steady = {
        rate: RATE,
        latencyMs: roundSummary(steady.summary),
        duplicates: steady.duplicates,
        unknownEventIds: steady.unknown,
      };
      report.details.saturated = {
        inFlight: IN_FLIGHT,
        latencyMs: roundSummary(saturated.summary),
        duplicates: saturated.duplicates,
        unknownEventIds: saturated.unknown,
      };
      const duplicates = steady.duplicates + saturated.duplicates;
      if (duplicates > 0) report.note(`${duplicates} duplicate deliveries (at-least-once retries)`);
      // The calendar writes of the last changes land before the host is removed.
      await waitForQueueIdle(env, 60_000);

      /** Runs one phase's changes and waits for their deliveries; latencies from the events' commit. */
      async function measure(planned: number, makeChanges: (budgetLeft: () => boolean) => Promise<number>) {
        for (const list of receipts) list.length = 0;
        const startedAt = new Date(Date.now() - 1000);
        const changeStarted = performance.now();
        const made = await makeChanges(() => performance.now() - changeStarted < CHANGE_BUDGET_MS);
        const changeSeconds = (performance.now() - changeStarted) / 1000;
        const expected = made * ENDPOINTS;
        const count = () => receipts.reduce((n, r) => n + r.length, 0);
        const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
        while (count() < expected && performance.now() < deadline) await sleep(20);
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
        const received = count();
        const summary = summarize(latencies);
        const line =
          `${received}/${expected} deliveries of ${made}/${planned} changes, p50 ${round(summary.p50, 1)} ms, ` +
          `p99 ${round(summary.p99, 1)} ms, changes in ${round(changeSeconds, 1)} s, all delivered after ${round(deliverySeconds, 1)} s`;
        return { made, changeSeconds, deliverySeconds, expected, received, summary, duplicates, unknown, line };
      }
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
