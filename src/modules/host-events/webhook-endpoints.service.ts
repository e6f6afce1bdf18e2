import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { DELIVER_WEBHOOKS_JOB, WEBHOOK_SHARDS, deliverWebhooksJobOptions } from './host-events.jobs.js';
import {
  InvalidWebhookUrlError,
  WebhookDeliveryNotFoundError,
  WebhookEndpointDisabledError,
  WebhookEndpointNotFoundError,
} from './host-events.errors.js';
import type { HostEventType } from './ports/host-event-recorder.port.js';
import { UnsafeWebhookUrl, assertPublicUrl, urlProblem } from './url-guard.js';
import { WebhookSecretSealing } from './webhook-secret-sealing.js';

export interface WebhookEndpointView {
  id: number;
  url: string;
  /** null: every event type. */
  events: HostEventType[] | null;
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryView {
  id: number;
  eventId: string;
  type: HostEventType;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

interface EndpointRow {
  id: number;
  url: string;
  events: HostEventType[] | null;
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  encryptedSecret: string;
  createdAt: Date;
  updatedAt: Date;
}

const SELECT_ENDPOINT = `SELECT "id", "url", "events", "description", "enabled", "disabledReason", "encryptedSecret", "createdAt", "updatedAt" FROM "WebhookEndpoint"`;

/**
 * Webhook endpoints and their delivery log. The signing secret is `whsec_` + base64 of 32 random
 * bytes, sealed at rest with the credentials' cipher (AES-256-GCM under `ENCRYPTION_KEY`), shown
 * only by create and rotate, and never logged.
 */
@Injectable()
export class WebhookEndpointsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly secrets: WebhookSecretSealing,
  ) {}

  async create(input: { url: string; events?: HostEventType[] | null; description?: string | null }) {
    await this.checkUrl(input.url);
    const secret = newSecret();
    // The secret is sealed for the row's id, so the id is drawn first.
    const [{ id }]: Array<{ id: string }> = await this.dataSource.query(
      `SELECT nextval(pg_get_serial_sequence('"WebhookEndpoint"', 'id')) AS "id"`,
    );
    const rows: EndpointRow[] = await this.dataSource.query(
      `INSERT INTO "WebhookEndpoint" ("id", "url", "events", "description", "encryptedSecret")
       VALUES ($1, $2, $3::text[], $4, $5)
       RETURNING "id", "url", "events", "description", "enabled", "disabledReason", "encryptedSecret", "createdAt", "updatedAt"`,
      [Number(id), input.url, normaliseEvents(input.events), input.description ?? null, this.secrets.seal(Number(id), secret)],
    );
    return { ...view(rows[0]), secret };
  }

  async list(limit: number, after: number | null): Promise<Page<WebhookEndpointView>> {
    const rows: EndpointRow[] = await this.dataSource.query(
      `${SELECT_ENDPOINT} WHERE ($1::bigint IS NULL OR "id" > $1::bigint) ORDER BY "id" LIMIT $2`,
      [after, limit + 1],
    );
    return page(rows.map(view), limit, (e) => String(e.id));
  }

  async get(id: number): Promise<WebhookEndpointView> {
    return view(await this.row(id));
  }

  async update(
    id: number,
    patch: { url?: string; events?: HostEventType[] | null; enabled?: boolean; description?: string | null },
  ) {
    if (patch.url !== undefined) await this.checkUrl(patch.url);
    const before = await this.row(id);
    // One statement: an endpoint enabled again gets back, at the same moment, the delivery its 410
    // stopped (given up as failed then), so no drain can send a later event of that booking first:
    // the later ones that were waiting behind it (pending) go out after it, in order. One whose
    // booking went on since, a later event of it delivered (an older incident), stays as it is:
    // sent now, it would arrive after its successor.
    const rows: EndpointRow[] = await this.dataSource.query(
      `WITH was AS (SELECT "enabled", "url" FROM "WebhookEndpoint" WHERE "id" = $1),
       moved AS (SELECT $2 AND $3::text IS DISTINCT FROM was."url" AS yes FROM was),
       u AS (UPDATE "WebhookEndpoint" SET
         "url" = CASE WHEN $2 THEN $3 ELSE "url" END,
         "events" = CASE WHEN $4 THEN $5::text[] ELSE "events" END,
         "description" = CASE WHEN $6 THEN $7 ELSE "description" END,
         "enabled" = COALESCE($8, "enabled"),
         "disabledReason" = CASE WHEN $8 IS TRUE THEN NULL ELSE "disabledReason" END,
         -- A new address, or the endpoint switched on: whatever it answered before says nothing now.
         "failingSince" = CASE WHEN (SELECT yes FROM moved) OR $8 IS TRUE THEN NULL ELSE "failingSince" END,
         "backoffUntil" = CASE WHEN (SELECT yes FROM moved) OR $8 IS TRUE THEN NULL ELSE "backoffUntil" END,
         "updatedAt" = now()
       WHERE "id" = $1
       RETURNING "id", "url", "events", "description", "enabled", "disabledReason", "encryptedSecret", "createdAt", "updatedAt"),
       revived AS (
         UPDATE "WebhookDelivery" d SET "status" = 'pending', "nextAttemptAt" = clock_timestamp(),
                "giveUpAfter" = GREATEST(d."giveUpAfter", clock_timestamp() + interval '24 hours')
          WHERE d."endpointId" = $1 AND d."status" = 'failed' AND d."lastStatusCode" = 410
            AND EXISTS (SELECT 1 FROM u WHERE u."enabled") AND EXISTS (SELECT 1 FROM was WHERE NOT was."enabled")
            AND NOT EXISTS (SELECT 1 FROM "WebhookDelivery" n
                             WHERE n."endpointId" = d."endpointId" AND n."orderingKey" = d."orderingKey"
                               AND n."eventSeq" > d."eventSeq" AND n."status" = 'delivered')
         RETURNING 1),
       -- A new address: failures at the old one say nothing of it; what waits for a retry goes now.
       retimed AS (
         UPDATE "WebhookDelivery" d SET "nextAttemptAt" = clock_timestamp()
          WHERE (SELECT yes FROM moved) AND d."endpointId" = $1 AND d."status" = 'pending' AND d."nextAttemptAt" > clock_timestamp()
            AND EXISTS (SELECT 1 FROM u)
         RETURNING 1)
       SELECT u.* FROM u`,
      [
        id,
        patch.url !== undefined,
        patch.url ?? null,
        patch.events !== undefined,
        normaliseEvents(patch.events),
        patch.description !== undefined,
        patch.description ?? null,
        patch.enabled ?? null,
      ],
    );
    if (rows.length === 0) throw new WebhookEndpointNotFoundError(id);
    // Deliveries that waited while it was disabled, or paused at an address that answered nothing,
    // go out now, in order.
    if ((!before.enabled && rows[0].enabled) || rows[0].url !== before.url || patch.enabled === true) await this.wake(id);
    return view(rows[0]);
  }

  async remove(id: number): Promise<void> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH d AS (DELETE FROM "WebhookEndpoint" WHERE "id" = $1 RETURNING "id") SELECT * FROM d`,
      [id],
    );
    if (rows.length === 0) throw new WebhookEndpointNotFoundError(id);
  }

  /** A new secret; every delivery signed from now on uses it. */
  async rotateSecret(id: number): Promise<{ secret: string }> {
    const secret = newSecret();
    const rows: unknown[] = await this.dataSource.query(
      `WITH u AS (UPDATE "WebhookEndpoint" SET "encryptedSecret" = $2, "updatedAt" = now() WHERE "id" = $1 RETURNING "id")
       SELECT * FROM u`,
      [id, this.secrets.seal(id, secret)],
    );
    if (rows.length === 0) throw new WebhookEndpointNotFoundError(id);
    return { secret };
  }

  /** The endpoint's deliveries, newest first. */
  async deliveries(id: number, limit: number, after: number | null): Promise<Page<DeliveryView>> {
    await this.row(id);
    const rows: Array<{
      id: string;
      eventId: string;
      type: HostEventType;
      status: DeliveryView['status'];
      attempts: number;
      lastStatusCode: number | null;
      lastError: string | null;
      nextAttemptAt: Date;
      deliveredAt: Date | null;
      createdAt: Date;
    }> = await this.dataSource.query(
      `SELECT d."id"::text AS "id", e."id" AS "eventId", e."type", d."status", d."attempts", d."lastStatusCode",
              d."lastError", GREATEST(d."nextAttemptAt", COALESCE(w."backoffUntil", d."nextAttemptAt")) AS "nextAttemptAt",
              d."deliveredAt", d."createdAt"
         FROM "WebhookDelivery" d JOIN "HostEvent" e ON e."seq" = d."eventSeq"
         JOIN "WebhookEndpoint" w ON w."id" = d."endpointId"
        WHERE d."endpointId" = $1 AND ($2::bigint IS NULL OR d."id" < $2)
        ORDER BY d."id" DESC LIMIT $3`,
      [id, after, limit + 1],
    );
    const items = rows.map((r) => ({
      id: Number(r.id),
      eventId: r.eventId,
      type: r.type,
      status: r.status,
      attempts: r.attempts,
      lastStatusCode: r.lastStatusCode,
      lastError: r.lastError,
      nextAttemptAt: r.status === 'pending' ? r.nextAttemptAt.toISOString() : null,
      deliveredAt: r.deliveredAt ? r.deliveredAt.toISOString() : null,
      createdAt: r.createdAt.toISOString(),
    }));
    return page(items, limit, (d) => String(d.id));
  }

  /**
   * Sends a delivery again (whatever its status), with the same event id and body, and a fresh 24 h
   * of retries. It takes its place in its booking's order again: later events of that booking
   * wait for it. An endpoint paused for answering nothing is tried at once (if it still answers
   * nothing, its next pause is as long as it has been failing).
   */
  async redeliver(id: number, deliveryId: number): Promise<{ id: number; status: 'pending' }> {
    const endpoint = await this.row(id);
    if (!endpoint.enabled) throw new WebhookEndpointDisabledError(id);
    await this.dataSource.transaction(async (manager) => {
      const rows: Array<{ shard: number }> = await manager.query(
        `WITH u AS (
           UPDATE "WebhookDelivery"
              SET "status" = 'pending', "nextAttemptAt" = clock_timestamp(), "deliveredAt" = NULL,
                  "giveUpAfter" = clock_timestamp() + interval '24 hours'
            WHERE "id" = $1 AND "endpointId" = $2
            RETURNING "shard")
         SELECT * FROM u`,
        [deliveryId, id],
      );
      if (rows.length === 0) throw new WebhookDeliveryNotFoundError(id, deliveryId);
      await manager.query(`UPDATE "WebhookEndpoint" SET "backoffUntil" = NULL WHERE "id" = $1 AND "backoffUntil" IS NOT NULL`, [
        id,
      ]);
      await this.enqueueDrain(manager, id, rows[0].shard);
    });
    return { id: deliveryId, status: 'pending' };
  }

  /** Pending deliveries per endpoint (the backlog gauge). */
  async backlog(): Promise<Array<{ endpointId: number; pending: number }>> {
    // Enabled endpoints only: a disabled one is neither sent to nor given new deliveries until it is
    // enabled again, so what it still holds is no backlog to alert on.
    const rows: Array<{ endpointId: number; pending: string }> = await this.dataSource.query(
      `SELECT w."id" AS "endpointId", count(d."id")::text AS "pending"
         FROM "WebhookEndpoint" w LEFT JOIN "WebhookDelivery" d ON d."endpointId" = w."id" AND d."status" = 'pending'
        WHERE w."enabled"
        GROUP BY w."id"`,
    );
    return rows.map((r) => ({ endpointId: r.endpointId, pending: Number(r.pending) }));
  }

  private async wake(id: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      for (let shard = 0; shard < WEBHOOK_SHARDS; shard++) await this.enqueueDrain(manager, id, shard);
    });
  }

  private async enqueueDrain(manager: EntityManager, endpointId: number, shard: number): Promise<void> {
    await this.jobs.enqueueJob(
      DELIVER_WEBHOOKS_JOB,
      { endpointId, shard },
      deliverWebhooksJobOptions(endpointId, shard),
      manager,
    );
  }

  private async row(id: number): Promise<EndpointRow> {
    const rows: EndpointRow[] = await this.dataSource.query(`${SELECT_ENDPOINT} WHERE "id" = $1`, [id]);
    if (rows.length === 0) throw new WebhookEndpointNotFoundError(id);
    return rows[0];
  }

  private async checkUrl(url: string): Promise<void> {
    const problem = urlProblem(url);
    if (problem) throw new InvalidWebhookUrlError(problem);
    if (this.config.webhookAllowPrivateUrls) return;
    try {
      await assertPublicUrl(url);
    } catch (error) {
      if (error instanceof UnsafeWebhookUrl) throw new InvalidWebhookUrlError(error.message);
      throw error;
    }
  }
}

function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function normaliseEvents(events: HostEventType[] | null | undefined): string[] | null {
  return events ? [...new Set(events)] : null;
}

function view(row: EndpointRow): WebhookEndpointView {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

function page<T>(items: T[], limit: number, cursorOf: (item: T) => string): Page<T> {
  const more = items.length > limit;
  const shown = more ? items.slice(0, limit) : items;
  return { items: shown, nextCursor: more ? cursorOf(shown[shown.length - 1]) : null };
}
