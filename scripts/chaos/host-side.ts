import { type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { DELIVERY_TIMEOUT_MS } from '../../src/modules/host-events/webhook-sender.js';
import type { Mismatch } from './checks.js';
import { sleep } from './env.js';
import { Prng } from './prng.js';
import type { BookingView, World } from './world.js';

/**
 * The host product's side of a chaos run: an outgoing-webhook receiver that misbehaves as real ones
 * do, and a reader walking the change feed while everything else goes on. Rule 6 (`checkHostSide`):
 * the host is told each change once, in order, whatever happened on the way.
 */

/** One request the receiver got. */
export interface Receipt {
  webhookId: string;
  type: string;
  bookingId: number | null;
  body: string;
  /** The signature checked out with the endpoint's secret (the `standardwebhooks` verifier). */
  verified: boolean;
  receivedAt: number;
  /** The status answered, or `hung` (no answer: the connection was dropped after the sender gave up). */
  answer: number | 'hung';
  /** When the answer went out (null: none did). */
  answeredAt: number | null;
}

/** The part of a webhook body or a feed item the checks read. */
type HostEventShape = { id?: string; type?: string; data?: { booking?: { id?: number } } };

/** What a faulty receiver does with a request (the rest are answered 204 at once). */
const FAULTS = { error500: 0.12, error503: 0.04, hang: 0.03, slowSuccess: 0.02 };

/**
 * A Standard Webhooks receiver on 127.0.0.1. While `faulty`, it answers some requests 500 or 503,
 * holds some past the sender's 10 s limit and then drops them, and answers some 204 only after that
 * limit (received here, but a failure to the sender: its retry is a duplicate the receiver must
 * tolerate). The choices come from the run's seed.
 */
export class HostReceiver {
  readonly receipts: Receipt[] = [];
  readonly injected = { error500: 0, error503: 0, hung: 0, slowSuccess: 0 };
  faulty = false;
  private secret: string | null = null;
  private readonly held = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    private readonly rng: Prng,
    private readonly now: () => number,
  ) {}

  static async start(seed: number, now: () => number): Promise<HostReceiver> {
    const server = createServer();
    const receiver = new HostReceiver(server, Prng.stream(seed, 'host-receiver'), now);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => receiver.receive(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/calsync-hooks`;
  }

  useSecret(secret: string): void {
    this.secret = secret;
  }

  private receive(body: string, headers: Record<string, string>, res: ServerResponse): void {
    let verified = false;
    let parsed: HostEventShape = {};
    try {
      if (this.secret) {
        parsed = new Webhook(this.secret).verify(body, headers) as HostEventShape;
        verified = true;
      }
    } catch {
      parsed = safeJson(body);
    }
    const receipt: Receipt = {
      webhookId: headers['webhook-id'] ?? '',
      type: parsed.type ?? '?',
      bookingId: typeof parsed.data?.booking?.id === 'number' ? parsed.data.booking.id : null,
      body,
      verified,
      receivedAt: this.now(),
      answer: 204,
      answeredAt: null,
    };
    this.receipts.push(receipt);
    const answer = (status: number) => {
      receipt.answer = status;
      receipt.answeredAt = this.now();
      res.statusCode = status;
      res.end();
    };
    if (!this.faulty) return answer(204);
    const roll = this.rng.next();
    const { error500, error503, hang, slowSuccess } = FAULTS;
    if (roll < error500) {
      this.injected.error500 += 1;
      return answer(500);
    }
    if (roll < error500 + error503) {
      this.injected.error503 += 1;
      return answer(503);
    }
    if (roll < error500 + error503 + hang) {
      this.injected.hung += 1;
      receipt.answer = 'hung';
      this.held.add(res);
      this.later(DELIVERY_TIMEOUT_MS + 1000, () => {
        this.held.delete(res);
        res.destroy();
      });
      return;
    }
    if (roll < error500 + error503 + hang + slowSuccess) {
      this.injected.slowSuccess += 1;
      this.held.add(res);
      this.later(DELIVERY_TIMEOUT_MS + 1000, () => {
        this.held.delete(res);
        answer(204);
      });
      return;
    }
    answer(204);
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function safeJson(body: string): HostEventShape {
  try {
    return JSON.parse(body) as HostEventShape;
  } catch {
    return {};
  }
}

/**
 * A host reading the change feed (`GET /api/v1/changes`) from whichever instance is up, every few
 * hundred milliseconds through the whole run, as a consumer would: it keeps its cursor and never
 * goes back.
 */
export class FeedWalker {
  /** Every item read, in the order read. */
  readonly items: Array<{ id: string; type: string; bookingId: number | null }> = [];
  pages = 0;
  failedReads = 0;
  private cursor = '0';
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly world: World) {}

  start(intervalMs = 300): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.readToEnd(false).catch(() => undefined);
        await sleep(intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Reads pages until an empty one (retrying a failed read for up to a minute when `insist`). */
  async readToEnd(insist = true): Promise<void> {
    const deadline = performance.now() + 60_000;
    for (;;) {
      if (performance.now() > deadline)
        throw new Error(`the change feed could not be read to its end (${this.failedReads} failed reads)`);
      const instance = this.world.pickInstance();
      if (!instance) {
        if (!insist) return;
        await sleep(100);
        continue;
      }
      let page: {
        status: number;
        body: { items?: Array<HostEventShape & { id: string; type: string }>; nextCursor?: string };
      };
      try {
        page = await this.world.request(instance, 'GET', `/api/v1/changes?after=${this.cursor}&limit=200`, undefined, {
          timeoutMs: 10_000,
        });
      } catch {
        this.failedReads += 1;
        if (!insist) return;
        await sleep(100);
        continue;
      }
      if (page.status !== 200 || !page.body.items || typeof page.body.nextCursor !== 'string') {
        this.failedReads += 1;
        if (!insist) return;
        await sleep(100);
        continue;
      }
      this.pages += 1;
      if (page.body.items.length === 0) return;
      for (const item of page.body.items) {
        const bookingId = item.data?.booking?.id;
        this.items.push({ id: item.id, type: item.type, bookingId: typeof bookingId === 'number' ? bookingId : null });
      }
      this.cursor = page.body.nextCursor;
    }
  }
}

export interface HostSideReport {
  /** Per booking with a mismatch: its events, deliveries and receipts. */
  details: string[];
  events: number;
  receipts: number;
  /** Events whose webhook was answered 2xx more than once (at least once is the contract; the receiver deduplicates on `webhook-id`). */
  duplicates: number;
  injected: HostReceiver['injected'];
  feedItems: number;
  feedPages: number;
  mismatches: Mismatch[];
}

interface EventRow {
  seq: number;
  id: string;
  type: string;
  bookingId: number | null;
  source: string | null;
  deliveries: number;
  delivered: number;
}

const BOOKING_ACTIONS = new Set(['created', 'rescheduled', 'cancelled', 'updated']);

/**
 * Rule 6, the host is told each change once, in order (after quiescence):
 * a. every booking's `booking.created/rescheduled/cancelled/updated` events are its history's entries
 *    of those actions, one for one, in order, with the same source (no change without its event, no
 *    event without its change);
 * b. every event has one delivery to the endpoint, delivered;
 * c. every request the receiver got is signed with the endpoint's secret and carries an event that
 *    exists, with the same body each time; every event was answered 2xx at least once;
 * d. one booking's events reached the receiver in order: an event's first request came after the
 *    receiver had answered 2xx to the booking's event before it;
 * e. the change feed, walked during the whole run, listed every event exactly once, and one booking's
 *    events in their order.
 */
export async function checkHostSide(
  world: World,
  endpointId: number,
  receiver: HostReceiver,
  feed: FeedWalker,
  views: Map<number, BookingView>,
): Promise<HostSideReport> {
  const mismatches: Mismatch[] = [];
  const indexOf = new Map([...views].map(([index, view]) => [view.id, index]));
  const add = (rule: string, expected: string, actual: string, bookingId?: number) =>
    mismatches.push({
      rule: `host told: ${rule}`,
      expected,
      actual,
      ...(bookingId === undefined ? {} : { bookingId, booking: indexOf.get(bookingId) }),
    });
  const { rows: events } = await world.db.query<EventRow>(
    `SELECT e."seq"::int AS "seq", e."id", e."type", e."bookingId", e."data"->>'source' AS "source",
            (SELECT count(*) FROM "WebhookDelivery" d WHERE d."eventSeq" = e."seq" AND d."endpointId" = $1)::int AS "deliveries",
            (SELECT count(*) FROM "WebhookDelivery" d WHERE d."eventSeq" = e."seq" AND d."endpointId" = $1
                AND d."status" = 'delivered')::int AS "delivered"
       FROM "HostEvent" e ORDER BY e."seq"`,
    [endpointId],
  );
  const byId = new Map(events.map((e) => [e.id, e]));

  // a. change ↔ event, per booking.
  for (const view of views.values()) {
    const entries = view.history.filter((h) => BOOKING_ACTIONS.has(h.action)).map((h) => `booking.${h.action}/${h.source}`);
    const told = events
      .filter((e) => e.bookingId === view.id && e.type !== 'booking.conflict')
      .map((e) => `${e.type}/${e.source}`);
    if (entries.join(' ') !== told.join(' ')) {
      add('each change has its event (history = events)', `[${entries.join(', ')}]`, `[${told.join(', ')}]`, view.id);
    }
  }

  // b. delivered, once per event.
  for (const e of events) {
    if (e.deliveries !== 1 || e.delivered !== 1) {
      add(
        'every event delivered',
        `${e.id} (${e.type}): 1 delivery, delivered`,
        `${e.deliveries} delivery row(s), ${e.delivered} delivered`,
        e.bookingId ?? undefined,
      );
    }
  }

  // c. what the receiver got.
  const receiptsOf = new Map<string, Receipt[]>();
  for (const r of receiver.receipts) {
    if (!r.verified) add('every webhook signed with the endpoint secret', `a valid signature`, `${r.webhookId}: not verified`);
    if (!byId.has(r.webhookId))
      add('every webhook is a recorded event', 'an event in "HostEvent"', `unknown webhook-id ${r.webhookId}`);
    const list = receiptsOf.get(r.webhookId) ?? [];
    list.push(r);
    receiptsOf.set(r.webhookId, list);
  }
  const ok = (r: Receipt) => typeof r.answer === 'number' && r.answer >= 200 && r.answer < 300 && r.answeredAt !== null;
  let duplicates = 0;
  for (const e of events) {
    const got = receiptsOf.get(e.id) ?? [];
    if (new Set(got.map((r) => r.body)).size > 1)
      add(
        'the same webhook-id, the same body',
        '1 body',
        `${new Set(got.map((r) => r.body)).size} bodies for ${e.id}`,
        e.bookingId ?? undefined,
      );
    const accepted = got.filter(ok).length;
    if (accepted === 0)
      add(
        'every event reached the host',
        `${e.id} (${e.type}) answered 2xx`,
        `${got.length} request(s), none answered 2xx`,
        e.bookingId ?? undefined,
      );
    if (accepted > 1) duplicates += 1;
  }

  // d. per-booking order at the receiver.
  const streams = new Map<number, EventRow[]>();
  for (const e of events) {
    if (e.bookingId === null) continue;
    const list = streams.get(e.bookingId) ?? [];
    list.push(e);
    streams.set(e.bookingId, list);
  }
  for (const [bookingId, stream] of streams) {
    for (let i = 1; i < stream.length; i++) {
      const before = receiptsOf.get(stream[i - 1].id) ?? [];
      const after = receiptsOf.get(stream[i].id) ?? [];
      const acceptedAt = Math.min(...before.filter(ok).map((r) => r.answeredAt as number));
      const firstSent = Math.min(...after.map((r) => r.receivedAt));
      if (after.length > 0 && !(firstSent >= acceptedAt)) {
        add(
          "one booking's events in order",
          `${stream[i].type} (${stream[i].id}) first sent after ${stream[i - 1].type} was answered 2xx (${Number.isFinite(acceptedAt) ? `${acceptedAt.toFixed(0)} ms` : 'never'})`,
          `first sent at ${firstSent.toFixed(0)} ms`,
          bookingId,
        );
      }
    }
  }

  // e. the change feed.
  const seen = new Map<string, number>();
  for (const item of feed.items) seen.set(item.id, (seen.get(item.id) ?? 0) + 1);
  for (const [id, n] of seen) {
    if (n > 1) add('the feed lists each event once', `${id} once`, `${n} times`, byId.get(id)?.bookingId ?? undefined);
    if (!byId.has(id)) add('the feed lists recorded events', 'an event in "HostEvent"', `unknown ${id}`);
  }
  for (const e of events) {
    if (!seen.has(e.id))
      add('the feed lists every event', `${e.id} (${e.type})`, 'never listed (skipped by the cursor)', e.bookingId ?? undefined);
  }
  const feedOrder = new Map<number, string[]>();
  for (const item of feed.items) {
    if (item.bookingId === null) continue;
    const list = feedOrder.get(item.bookingId) ?? [];
    if (!list.includes(item.id)) list.push(item.id);
    feedOrder.set(item.bookingId, list);
  }
  for (const [bookingId, ids] of feedOrder) {
    const expected = (streams.get(bookingId) ?? []).map((e) => e.id).filter((id) => ids.includes(id));
    if (expected.join(',') !== ids.join(',')) {
      add("the feed lists one booking's events in order", expected.join(', '), ids.join(', '), bookingId);
    }
  }

  // For each booking with a mismatch: its events, their deliveries and what the receiver answered.
  const details: string[] = [];
  for (const bookingId of new Set(mismatches.map((m) => m.bookingId).filter((id): id is number => id !== undefined))) {
    details.push(`── host side of booking ${bookingId}`);
    for (const e of streams.get(bookingId) ?? []) {
      const got = (receiptsOf.get(e.id) ?? [])
        .map(
          (r) => `${r.receivedAt.toFixed(0)} ms → ${r.answer}${r.answeredAt === null ? '' : ` at ${r.answeredAt.toFixed(0)} ms`}`,
        )
        .join('; ');
      details.push(
        `   seq ${e.seq} ${e.id} ${e.type}/${e.source}: ${e.delivered}/${e.deliveries} delivered; received: ${got || 'never'}`,
      );
    }
  }

  return {
    details,
    events: events.length,
    receipts: receiver.receipts.length,
    duplicates,
    injected: { ...receiver.injected },
    feedItems: feed.items.length,
    feedPages: feed.pages,
    mismatches,
  };
}
