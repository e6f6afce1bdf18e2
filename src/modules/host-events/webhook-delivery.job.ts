import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import { JobHandlerRegistry } from '../../infrastructure/queue/job-handler.registry.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import {
  DELIVER_WEBHOOKS_JOB,
  HOST_EVENTS_LANE,
  HOST_EVENTS_LANE_CONCURRENCY,
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
  attempts: number;
  lastChance: boolean;
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
  url: string;
  encryptedSecret: string;
}

/**
 * Runs `DELIVER_WEBHOOKS_JOB` for one (endpoint, shard): delivers what is due, oldest event first,
 * one at a time, and queues itself for the next retry that is due later.
 *
 * Order: a delivery goes out only when no earlier delivery of the same booking to the same endpoint
 * is still pending (waiting for a retry included), so one booking's events reach an endpoint in the
 * order they happened; other bookings' streams go on meanwhile. A delivery given up after 24 h
 * (`failed`) no longer holds its booking's stream.
 *
 * Isolation: these jobs run in their own worker lane (never the sync's slots); an endpoint has at
 * most `WEBHOOK_SHARDS` of them running, and each attempt is abandoned after 10 s, so a slow or
 * dead endpoint holds a few slots of this lane at most, and other endpoints keep theirs.
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
  ) {}

  onModuleInit(): void {
    this.registry.handle(DELIVER_WEBHOOKS_JOB, ({ endpointId, shard }) => this.drain(endpointId, shard));
    this.registry.useLane(DELIVER_WEBHOOKS_JOB.name, HOST_EVENTS_LANE, HOST_EVENTS_LANE_CONCURRENCY);
  }

  async drain(endpointId: number, shard: number): Promise<void> {
    for (let handled = 0; handled < BATCH; handled++) {
      const due = await this.nextDue(endpointId, shard);
      if (!due) return this.scheduleNext(endpointId, shard, false);
      await this.attempt(endpointId, due);
    }
    await this.scheduleNext(endpointId, shard, true);
  }

  private async nextDue(endpointId: number, shard: number): Promise<DueDelivery | null> {
    const rows: DueDelivery[] = await this.dataSource.query(
      `SELECT d."id"::text AS "id", d."attempts", d."giveUpAfter" <= clock_timestamp() AS "lastChance",
              e."id" AS "eventId", e."type", e."data", e."createdAt", w."url", w."encryptedSecret"
         FROM "WebhookDelivery" d
         JOIN "WebhookEndpoint" w ON w."id" = d."endpointId"
         JOIN "HostEvent" e ON e."seq" = d."eventSeq"
        WHERE d."endpointId" = $1 AND d."shard" = $2 AND d."status" = 'pending'
          AND d."nextAttemptAt" <= clock_timestamp() AND w."enabled"
          AND NOT EXISTS (SELECT 1 FROM "WebhookDelivery" p
                           WHERE p."endpointId" = d."endpointId" AND p."orderingKey" = d."orderingKey"
                             AND p."status" = 'pending' AND p."eventSeq" < d."eventSeq")
        ORDER BY d."eventSeq"
        LIMIT 1`,
      [endpointId, shard],
    );
    return rows[0] ?? null;
  }

  private async attempt(endpointId: number, due: DueDelivery): Promise<void> {
    const body = JSON.stringify({
      id: due.eventId,
      type: due.type,
      timestamp: new Date(due.createdAt).toISOString(),
      data: due.data,
    });
    const result = await this.sender.send(due.url, this.secrets.open(endpointId, due.encryptedSecret), due.eventId, body);
    const status = result.statusCode;
    if (status !== null && status >= 200 && status < 300) {
      await this.dataSource.query(
        `UPDATE "WebhookDelivery" SET "status" = 'delivered', "attempts" = "attempts" + 1, "lastStatusCode" = $2,
                "lastError" = NULL, "deliveredAt" = clock_timestamp() WHERE "id" = $1`,
        [due.id, status],
      );
      this.metrics.webhookDeliveries.inc({ result: 'delivered' });
      this.metrics.webhookLatency.observe(Math.max(0, Date.now() - new Date(due.createdAt).getTime()) / 1000);
      return;
    }
    if (status === 410) {
      // The receiver says it is gone for good: stop sending to it (PATCH {enabled: true} resumes).
      await this.dataSource.transaction(async (manager) => {
        await manager.query(
          `UPDATE "WebhookDelivery" SET "status" = 'failed', "attempts" = "attempts" + 1, "lastStatusCode" = 410,
                  "lastError" = $2 WHERE "id" = $1`,
          [due.id, 'HTTP 410: endpoint disabled'],
        );
        await manager.query(
          `UPDATE "WebhookEndpoint" SET "enabled" = false, "disabledReason" = $2, "updatedAt" = now() WHERE "id" = $1`,
          [endpointId, `The endpoint answered 410 Gone at ${new Date().toISOString()}`],
        );
      });
      this.metrics.webhookDeliveries.inc({ result: 'gone' });
      this.logger.warn(`Webhook endpoint ${endpointId} answered 410 Gone: disabled`);
      return;
    }
    const giveUp = due.lastChance;
    await this.dataSource.query(
      `UPDATE "WebhookDelivery" SET "status" = $2, "attempts" = "attempts" + 1, "lastStatusCode" = $3, "lastError" = $4,
              "nextAttemptAt" = clock_timestamp() + ($5::int * interval '1 millisecond') WHERE "id" = $1`,
      [due.id, giveUp ? 'failed' : 'pending', status, result.error, giveUp ? 0 : retryDelayMs(due.attempts + 1)],
    );
    this.metrics.webhookDeliveries.inc({ result: giveUp ? 'failed' : 'retrying' });
    if (giveUp)
      this.logger.warn(`Webhook delivery ${due.id} (endpoint ${endpointId}) failed for 24 h: given up (${result.error})`);
  }

  /**
   * Queues the next run: at once when this one stopped with work left, else when the earliest
   * pending delivery of the shard is due. `preserve_run_at`: a run queued meanwhile by a new event
   * (due now) is not postponed.
   */
  private async scheduleNext(endpointId: number, shard: number, more: boolean): Promise<void> {
    let delayMs = 0;
    if (!more) {
      const rows: Array<{ ms: number | null }> = await this.dataSource.query(
        `SELECT GREATEST(0, extract(epoch FROM (min(d."nextAttemptAt") - clock_timestamp())) * 1000)::float8 AS ms
           FROM "WebhookDelivery" d JOIN "WebhookEndpoint" w ON w."id" = d."endpointId"
          WHERE d."endpointId" = $1 AND d."shard" = $2 AND d."status" = 'pending' AND w."enabled"
            AND NOT EXISTS (SELECT 1 FROM "WebhookDelivery" p
                             WHERE p."endpointId" = d."endpointId" AND p."orderingKey" = d."orderingKey"
                               AND p."status" = 'pending' AND p."eventSeq" < d."eventSeq")`,
        [endpointId, shard],
      );
      // Only the head of each booking's stream counts: the ones behind it wait for it anyway.
      if (rows[0]?.ms === null || rows[0]?.ms === undefined) return;
      delayMs = rows[0].ms;
    }
    await this.jobs.enqueueJob(
      DELIVER_WEBHOOKS_JOB,
      { endpointId, shard },
      { ...deliverWebhooksJobOptions(endpointId, shard), jobKeyMode: 'preserve_run_at', delayMs },
    );
  }
}
