import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { type LogFields, logLine } from '../../infrastructure/logging/logging.js';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import { JobHandlerRegistry } from '../../infrastructure/queue/job-handler.registry.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import {
  DELIVER_WEBHOOKS_JOB,
  WEBHOOKS_LANE,
  WEBHOOKS_LANE_CONCURRENCY,
  WEBHOOK_SHARDS,
  deliverWebhooksJobOptions,
} from './host-events.jobs.js';
import { WebhookSender } from './webhook-sender.js';
import { WebhookSecretSealing } from './webhook-secret-sealing.js';

/** The first retry comes after about this long; each next one waits twice as long, up to `MAX_RETRY_DELAY_MS`. */
export const FIRST_RETRY_DELAY_MS = 5_000;
export const MAX_RETRY_DELAY_MS = 3_600_000;
/** Deliveries handled by one run of the job before it yields its slot (and queues its successor). */
const BATCH = 500;
/**
 * Streams (bookings) delivered side by side in one round of a drain: each round reads the heads of
 * up to this many streams in one query and sends them concurrently. One booking has one head, so
 * its events still go out one after the other.
 */
const ROUND = 16;
/**
 * A drain starts no new round after this long (a round waits at most the 10 s delivery timeout):
 * its successor, queued at once, takes the rest. So a drain ends well within JOB_TIMEOUT_MS even
 * against an endpoint that hangs on every request, and is never abandoned while it still sends
 * (an abandoned drain's retry would run beside it, and one booking's events could cross).
 */
const DRAIN_BUDGET_MS = 60_000;
/** The longest pause of an endpoint that answers nothing (see `backOff`). */
export const MAX_ENDPOINT_BACKOFF_MS = 300_000;
/** How often each instance looks for overdue deliveries no run is coming for (`sweepOverdue`). */
export const DELIVERY_SWEEP_MS = 60_000;
/** A delivery due this long ago without a run having taken it is overdue. */
const OVERDUE_AFTER = `interval '60 seconds'`;

/**
 * The delay before retry `attempts + 1`: exponential (5 s, 10 s, 20 s … capped at 1 h) with ±25 %
 * jitter, so endpoints that failed together are not all retried in the same instant. Retries go on
 * until 24 h after the event (`giveUpAfter`), which is ~30 attempts.
 */
export function retryDelayMs(attempts: number, random = Math.random): number {
  const exponential = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(exponential * (0.75 + random() * 0.5));
}

interface DueDelivery {
  id: string;
  /** Its endpoint was in a failing spell when the round read its heads. */
  endpointFailing: boolean;
  /** A later delivery of the same booking is pending behind this one. */
  hasNext: boolean;
  attempts: number;
  lastChance: boolean;
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
  url: string;
  encryptedSecret: string;
}

type Outcome = 'delivered' | 'retrying' | 'gone';

/** When delivery `d` of endpoint `w` may go out: its own retry time, or later while `w` is paused. */
const DUE_AT = `GREATEST(d."nextAttemptAt", COALESCE(w."backoffUntil", d."nextAttemptAt"))`;

/** Delivery `d` is the head of its booking's stream: no earlier delivery of it to the endpoint is pending. */
const STREAM_HEAD = `NOT EXISTS (SELECT 1 FROM "WebhookDelivery" p
                      WHERE p."endpointId" = d."endpointId" AND p."orderingKey" = d."orderingKey"
                        AND p."status" = 'pending' AND p."eventSeq" < d."eventSeq")`;

/**
 * Runs `DELIVER_WEBHOOKS_JOB` for one (endpoint, shard): delivers what is due, oldest event first,
 * and queues itself for the next retry that is due later.
 *
 * Rounds: one query reads the due head of up to `ROUND` bookings' streams, they are sent
 * concurrently, and the delivered ones are marked in one statement. A result is recorded only on a
 * delivery still pending: the late result of a drain that was abandoned (JOB_TIMEOUT_MS) while its
 * successor ran never sets a delivered one back to pending. A process that dies between
 * the sends and that statement sends them again later with the same `webhook-id` (at least once;
 * receivers deduplicate on it, as the Standard Webhooks specification expects).
 *
 * Order: a delivery goes out only when no earlier delivery of the same booking to the same endpoint
 * is still pending (waiting for a retry included), so one booking's events reach an endpoint in the
 * order they happened; other bookings' streams go on meanwhile. A delivery given up after 24 h
 * (`failed`) no longer holds its booking's stream.
 *
 * Isolation: these jobs run in their own worker lane (never the sync's slots); an endpoint has at
 * most `WEBHOOK_SHARDS` of them running, and each attempt is abandoned after 10 s, so a slow or
 * dead endpoint holds a few slots of this lane at most, and other endpoints keep theirs. An
 * endpoint that answers none of a round (every request timed out or found no server) is paused as
 * a whole (`backOff`): a dead receiver then costs one round per pause, not a drain of rounds of
 * 10 s attempts (up to `DRAIN_BUDGET_MS`) for every booking with a delivery due, nor one for each
 * new event. An endpoint that answers, even with errors, is not paused: a 4xx or 5xx may concern
 * one payload, and is retried per delivery.
 */
@Injectable()
export class WebhookDeliveryJob implements OnModuleInit {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
    private readonly sender: WebhookSender,
    private readonly metrics: MetricsService,
    private readonly secrets: WebhookSecretSealing,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.handle(DELIVER_WEBHOOKS_JOB, ({ endpointId, shard }, { logFields, signal }) =>
      this.drain(endpointId, shard, logFields, signal),
    );
    this.registry.useLane(DELIVER_WEBHOOKS_JOB.name, WEBHOOKS_LANE, WEBHOOKS_LANE_CONCURRENCY);
  }

  /**
   * `logFields`: the job's `jobId` and `task`, on the lines it logs (an endpoint disabled, a delivery
   * given up). `signal`: the attempt was abandoned (JOB_TIMEOUT_MS, shutdown): no new round starts.
   */
  async drain(endpointId: number, shard: number, logFields: LogFields = {}, signal?: AbortSignal): Promise<void> {
    let handled = 0;
    const started = Date.now();
    for (;;) {
      const handledBefore = handled;
      for (let more = true; more && handled < BATCH;) {
        signal?.throwIfAborted();
        // Out of time: the rest goes to a successor (see DRAIN_BUDGET_MS).
        if (Date.now() - started > DRAIN_BUDGET_MS) return this.enqueueNext(endpointId, shard, 0);
        const heads = await this.dueHeads(endpointId, shard);
        if (heads.length === 0) break;
        // The endpoint's secret, opened once per round (every head is of this endpoint).
        const secret = this.secrets.open(endpointId, heads[0].encryptedSecret);
        const results = await Promise.all(heads.map((due) => this.send(due, secret)));
        // Abandoned while sending: its successor may have sent and recorded these already; what
        // this round got back is left unrecorded (a late 410 must not disable the endpoint then).
        if (signal?.aborted) return;
        const delivered = results.filter((r) => r.outcome === 'delivered');
        const answered = results.some((r) => r.statusCode !== null);
        if (delivered.length > 0) {
          await this.dataSource.query(
            `UPDATE "WebhookDelivery" d SET "status" = 'delivered', "attempts" = d."attempts" + 1,
                    "lastStatusCode" = u."code", "lastError" = NULL, "deliveredAt" = u."at"
               FROM unnest($1::bigint[], $2::int[], $3::timestamptz[]) AS u("id", "code", "at")
              WHERE d."id" = u."id" AND d."status" = 'pending'`,
            [delivered.map((r) => r.due.id), delivered.map((r) => r.statusCode), delivered.map((r) => r.at)],
          );
          for (const { due, at } of delivered) {
            this.metrics.webhookDeliveries.inc({ result: 'delivered' });
            this.metrics.webhookLatency.observe(Math.max(0, at.getTime() - new Date(due.createdAt).getTime()) / 1000);
          }
        }
        for (const result of results) {
          // A 410 from an address the endpoint has since been moved away from disables nothing: the
          // delivery is retried at the new one, as any other failure there.
          if (result.outcome === 'gone' && (await this.disable(endpointId, result.due, logFields))) return;
          if (result.outcome !== 'delivered') {
            await this.recordFailure(endpointId, result.due, result.statusCode, result.error, logFields);
          }
        }
        handled += heads.length;
        if (!answered) {
          // Nobody there: the endpoint pauses, and this run's successor comes after the pause.
          await this.backOff(endpointId, heads[0].url, results[0].error, logFields);
          break;
        }
        // It answers: the pause it was in, if any, ends (read with the heads: no statement more per
        // round for the endpoints that answer, nearly all of them; a pause another shard's round set
        // while this one was under way lasts until its end, or this shard's next round).
        if (heads[0].endpointFailing) await this.answering(endpointId, shard);
        // Another round only when it can find something: this one was full, or it unblocked a
        // booking's next delivery (whose own run may have found it blocked and ended).
        more = heads.length === ROUND || delivered.some((r) => r.due.hasNext);
      }
      // Work left after a full batch: a successor at once, so other jobs get the slot meanwhile.
      if (handled >= BATCH) return this.enqueueNext(endpointId, shard, 0);
      // Otherwise a successor for the earliest head still pending in the shard, whichever run
      // recorded its retry. Not only the retries this run set: a run that died (or timed out)
      // after recording a failure and before queueing its successor runs again at once, finds
      // that retry not yet due, and is the only run left to wake it.
      const dueInMs = await this.headDueInMs(endpointId, shard);
      if (dueInMs === null) return;
      // A head due now was recorded after this run last looked (its own run, queued behind this
      // one, will then find nothing) or came due meanwhile: taken here rather than by another run
      // (unless this pass found nothing at all, which would only spin).
      if (dueInMs > 0 || handled === handledBefore) return this.enqueueNext(endpointId, shard, dueInMs);
    }
  }

  /**
   * The safety net, as the resync sweep is for calendars: every minute, a drain for each (endpoint,
   * shard) whose stream head has been due for over a minute. Every path that leaves a delivery
   * pending also queues the run that takes it (the recording transaction, a drain's successor, a
   * redelivery, an endpoint switched back on); this catches what those miss, such as a drain job
   * that used up its attempts while the database was away. Keyed as a drain's successor, so the
   * instances sweeping side by side queue one run per shard.
   */
  @Interval('webhook-delivery-sweep', DELIVERY_SWEEP_MS)
  async sweepTick(): Promise<void> {
    if (this.config.schedulerEnabled) await this.sweepOverdue();
  }

  /** Queues a drain for each shard with an overdue stream head; returns how many. */
  async sweepOverdue(): Promise<number> {
    try {
      const shards: Array<{ endpointId: number; shard: number }> = await this.dataSource.query(
        `SELECT DISTINCT d."endpointId", d."shard"
           FROM "WebhookDelivery" d JOIN "WebhookEndpoint" w ON w."id" = d."endpointId"
          WHERE d."status" = 'pending' AND w."enabled" AND ${DUE_AT} < clock_timestamp() - ${OVERDUE_AFTER}
            AND ${STREAM_HEAD}`,
      );
      for (const { endpointId, shard } of shards) await this.enqueueNext(endpointId, shard, 0);
      if (shards.length > 0) this.logger.warn(`Overdue webhook deliveries in ${shards.length} shard(s): drains queued`);
      return shards.length;
    } catch (error) {
      this.logger.warn(`webhook delivery sweep: ${(error as Error).message}`);
      return 0;
    }
  }

  /** The due head of each booking's stream (no earlier delivery of the booking still pending). */
  private async dueHeads(endpointId: number, shard: number): Promise<DueDelivery[]> {
    return this.dataSource.query(
      `SELECT d."id"::text AS "id", w."failingSince" IS NOT NULL AS "endpointFailing", d."attempts", d."giveUpAfter" <= clock_timestamp() AS "lastChance",
              e."id" AS "eventId", e."type", e."data", e."createdAt", w."url", w."encryptedSecret",
              EXISTS (SELECT 1 FROM "WebhookDelivery" n
                       WHERE n."endpointId" = d."endpointId" AND n."orderingKey" = d."orderingKey"
                         AND n."status" = 'pending' AND n."eventSeq" > d."eventSeq") AS "hasNext"
         FROM "WebhookDelivery" d
         JOIN "WebhookEndpoint" w ON w."id" = d."endpointId"
         JOIN "HostEvent" e ON e."seq" = d."eventSeq"
        WHERE d."endpointId" = $1 AND d."shard" = $2 AND d."status" = 'pending'
          AND (w."backoffUntil" IS NULL OR w."backoffUntil" <= clock_timestamp())
          AND ${DUE_AT} <= clock_timestamp() AND w."enabled"
          AND ${STREAM_HEAD}
        ORDER BY d."eventSeq"
        LIMIT $3`,
      [endpointId, shard, ROUND],
    );
  }

  private async send(
    due: DueDelivery,
    secret: string,
  ): Promise<{ due: DueDelivery; outcome: Outcome; statusCode: number | null; error: string | null; at: Date }> {
    const body = JSON.stringify({
      id: due.eventId,
      type: due.type,
      timestamp: new Date(due.createdAt).toISOString(),
      data: due.data,
    });
    const { statusCode, error } = await this.sender.send(due.url, secret, due.eventId, body);
    const outcome: Outcome =
      statusCode !== null && statusCode >= 200 && statusCode < 300 ? 'delivered' : statusCode === 410 ? 'gone' : 'retrying';
    return { due, outcome, statusCode, error, at: new Date() };
  }

  /**
   * The receiver says it is gone for good: stop sending to it (PATCH {enabled: true} resumes). Only
   * while the endpoint still has the address that answered: false (nothing changed) when a PATCH
   * moved it meanwhile.
   */
  private async disable(endpointId: number, due: DueDelivery, logFields: LogFields): Promise<boolean> {
    const disabled = await this.dataSource.transaction(async (manager) => {
      const rows: unknown[] = await manager.query(
        `WITH u AS (UPDATE "WebhookEndpoint" SET "enabled" = false, "disabledReason" = $3, "updatedAt" = now()
                      WHERE "id" = $1 AND "url" = $2 RETURNING "id")
         SELECT * FROM u`,
        [endpointId, due.url, `The endpoint answered 410 Gone at ${new Date().toISOString()}`],
      );
      if (rows.length === 0) return false;
      await manager.query(
        `UPDATE "WebhookDelivery" SET "status" = 'failed', "attempts" = "attempts" + 1, "lastStatusCode" = 410,
                "lastError" = $2 WHERE "id" = $1 AND "status" = 'pending'`,
        [due.id, 'HTTP 410: endpoint disabled'],
      );
      return true;
    });
    if (!disabled) return false;
    this.metrics.webhookDeliveries.inc({ result: 'gone' });
    this.logger.warn(
      logLine(`Webhook endpoint ${endpointId} answered 410 Gone: disabled`, { ...logFields, endpointId, deliveryId: due.id }),
    );
    return true;
  }

  /**
   * The endpoint answered none of a round: nothing goes to it before a pause as long as it has been
   * failing (at least `FIRST_RETRY_DELAY_MS`, at most `MAX_ENDPOINT_BACKOFF_MS`, ±25 % jitter), so
   * the pauses double while it stays away. The deliveries keep their own retry times and attempts;
   * they wait for the later of the two. Drains of its other shards that find the pause skip it and
   * queue their successor after it; the minute's sweep does not count a paused delivery overdue.
   */
  private async backOff(endpointId: number, sentTo: string, error: string | null, logFields: LogFields): Promise<void> {
    // From the row as it is now, not as the round found it: another shard's answer may have ended
    // the failing spell meanwhile (a new one starts, with the first pause). Only for the address the
    // round sent to: a PATCH to a new one meanwhile has lifted the pause for good reason.
    const rows: Array<{ started: boolean; pauseMs: number }> = await this.dataSource.query(
      `WITH pause AS (
         SELECT "failingSince" IS NULL AS started,
                (LEAST($3::float8, GREATEST($4::float8,
                   extract(epoch FROM clock_timestamp() - COALESCE("failingSince", clock_timestamp())) * 1000))
                 * (0.75 + random() * 0.5))::int AS ms
           FROM "WebhookEndpoint" WHERE "id" = $1 AND "url" = $2 FOR UPDATE),
       -- A CTE, so the driver answers the rows (TypeORM answers a bare UPDATE … RETURNING with [rows, count]).
       u AS (
         UPDATE "WebhookEndpoint" w SET "failingSince" = COALESCE(w."failingSince", clock_timestamp()),
                "backoffUntil" = clock_timestamp() + (pause.ms * interval '1 millisecond')
           FROM pause WHERE w."id" = $1
         RETURNING pause.started AS "started", pause.ms AS "pauseMs")
       SELECT * FROM u`,
      [endpointId, sentTo, MAX_ENDPOINT_BACKOFF_MS, FIRST_RETRY_DELAY_MS],
    );
    if (rows[0]?.started) {
      this.logger.warn(
        logLine(
          `Webhook endpoint ${endpointId} answers nothing (${error}): deliveries to it paused for ${Math.round(rows[0].pauseMs / 1000)} s, ` +
            `then tried again after pauses growing up to ${MAX_ENDPOINT_BACKOFF_MS / 60_000} min until it answers`,
          { ...logFields, endpointId },
        ),
      );
    }
  }

  /**
   * The endpoint answers again (a redelivery tried it during a pause, or the pause ended): no more
   * pauses, and its other shards, whose runs wait for the end of the pause, are woken now. The
   * deliveries' own retry times stay.
   */
  private async answering(endpointId: number, shard: number): Promise<void> {
    const cleared: unknown[] = await this.dataSource.query(
      `WITH u AS (UPDATE "WebhookEndpoint" SET "failingSince" = NULL, "backoffUntil" = NULL
                   WHERE "id" = $1 AND "failingSince" IS NOT NULL RETURNING "id")
       SELECT * FROM u`,
      [endpointId],
    );
    if (cleared.length === 0) return;
    for (let other = 0; other < WEBHOOK_SHARDS; other++) if (other !== shard) await this.enqueueNext(endpointId, other, 0);
  }

  /**
   * Not delivered: retried after `retryDelayMs`, or given up 24 h after the event. Retried at once
   * when the endpoint has been moved to another address since the round sent it (the PATCH made
   * what waited due now; this failure was the old address's; a last chance spent there is not
   * the last). The endpoint's row is read locked (FOR SHARE): a PATCH committing meanwhile is
   * waited for and seen; one committing after this statement finds this retry in the future and
   * makes it due itself.
   */
  private async recordFailure(
    endpointId: number,
    due: DueDelivery,
    status: number | null,
    error: string | null,
    logFields: LogFields,
  ): Promise<void> {
    // Its last chance (24 h after the event) is given up, unless it was spent on an address the
    // endpoint has left since: then the new one gets one try.
    const rows: Array<{ status: 'pending' | 'failed' }> = await this.dataSource.query(
      `WITH moved AS (SELECT EXISTS (SELECT 1 FROM "WebhookEndpoint"
                                      WHERE "id" = $6 AND "url" IS DISTINCT FROM $7 FOR SHARE) AS yes),
            u AS (
              UPDATE "WebhookDelivery" SET
                     "status" = CASE WHEN $2 AND NOT (SELECT yes FROM moved) THEN 'failed' ELSE 'pending' END,
                     "attempts" = "attempts" + 1, "lastStatusCode" = $3, "lastError" = $4,
                     "nextAttemptAt" = clock_timestamp()
                       + (CASE WHEN $2 OR (SELECT yes FROM moved) THEN 0 ELSE $5::int END * interval '1 millisecond')
               WHERE "id" = $1 AND "status" = 'pending'
              RETURNING "status")
       SELECT "status" FROM u`,
      [due.id, due.lastChance, status, error, retryDelayMs(due.attempts + 1), endpointId, due.url],
    );
    if (rows.length === 0) return;
    const giveUp = rows[0].status === 'failed';
    this.metrics.webhookDeliveries.inc({ result: giveUp ? 'failed' : 'retrying' });
    if (giveUp) {
      this.logger.warn(
        logLine(`Webhook delivery ${due.id} (endpoint ${endpointId}) failed for 24 h: given up (${error})`, {
          ...logFields,
          endpointId,
          deliveryId: due.id,
        }),
      );
    }
  }

  /**
   * Milliseconds until the earliest stream head pending in the shard is due (0 or less: due now),
   * or null when nothing is pending. Only heads count: the deliveries behind one wait for it anyway.
   */
  private async headDueInMs(endpointId: number, shard: number): Promise<number | null> {
    const rows: Array<{ ms: number | null }> = await this.dataSource.query(
      `SELECT (extract(epoch FROM (min(${DUE_AT}) - clock_timestamp())) * 1000)::float8 AS ms
         FROM "WebhookDelivery" d JOIN "WebhookEndpoint" w ON w."id" = d."endpointId"
        WHERE d."endpointId" = $1 AND d."shard" = $2 AND d."status" = 'pending' AND w."enabled"
          AND ${STREAM_HEAD}`,
      [endpointId, shard],
    );
    return rows[0]?.ms ?? null;
  }

  /**
   * Queues the shard's next run, keyed: it replaces a successor an earlier run queued for later
   * (the delay given covers every pending head); runs queued by new events are unkeyed and untouched.
   */
  private async enqueueNext(endpointId: number, shard: number, delayMs: number): Promise<void> {
    await this.jobs.enqueueJob(
      DELIVER_WEBHOOKS_JOB,
      { endpointId, shard },
      { ...deliverWebhooksJobOptions(endpointId, shard), jobKeyMode: 'replace', delayMs: Math.max(0, delayMs) },
    );
  }
}
