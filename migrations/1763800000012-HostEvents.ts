import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Host integration, owned by the host-events module (`src/modules/host-events`):
 * - `HostEvent`: the outbox of what changed for the host product, written in the transaction of the
 *   change itself. `seq` is the insert order (a booking's changes are serialized by its row lock, so
 *   one booking's events are in `seq` order); `position` is the change-feed position, assigned after
 *   commit by the sequencer (see `host-event.store.ts`), so the feed is in commit order.
 * - `WebhookEndpoint`: the host's endpoints, each with its signing secret sealed (AES-256-GCM).
 * - `WebhookDelivery`: one per (endpoint, event); `orderingKey` keeps one booking's events in order,
 *   `shard` spreads an endpoint's streams over a few serial queues.
 * - `HostEventConsumer`: the position of each in-process consumer (extension modules) in the feed.
 * - `AuditTrailReschedule`: the example extension's own table (`src/extensions/audit-trail`).
 */
export class HostEvents1763800000012 implements MigrationInterface {
  name = 'HostEvents1763800000012';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "HostEvent" (
        "seq" BIGSERIAL PRIMARY KEY,
        "id" TEXT NOT NULL UNIQUE,
        "type" TEXT NOT NULL,
        "bookingId" INTEGER,
        "data" JSONB NOT NULL,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        "position" BIGINT UNIQUE
      );
      CREATE INDEX "HostEvent_unsequenced_idx" ON "HostEvent" ("seq") WHERE "position" IS NULL;
      CREATE INDEX "HostEvent_createdAt_idx" ON "HostEvent" ("createdAt");

      CREATE TABLE "WebhookEndpoint" (
        "id" SERIAL PRIMARY KEY,
        "url" TEXT NOT NULL,
        "events" TEXT[],
        "description" TEXT,
        "enabled" BOOLEAN NOT NULL DEFAULT true,
        "disabledReason" TEXT,
        "encryptedSecret" TEXT NOT NULL,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );

      CREATE TABLE "WebhookDelivery" (
        "id" BIGSERIAL PRIMARY KEY,
        "endpointId" INTEGER NOT NULL REFERENCES "WebhookEndpoint"("id") ON DELETE CASCADE,
        "eventSeq" BIGINT NOT NULL REFERENCES "HostEvent"("seq") ON DELETE CASCADE,
        "orderingKey" TEXT NOT NULL,
        "shard" SMALLINT NOT NULL,
        "status" TEXT NOT NULL DEFAULT 'pending' CHECK ("status" IN ('pending', 'delivered', 'failed')),
        "attempts" INTEGER NOT NULL DEFAULT 0,
        "lastStatusCode" INTEGER,
        "lastError" TEXT,
        "nextAttemptAt" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        "giveUpAfter" TIMESTAMPTZ NOT NULL,
        "deliveredAt" TIMESTAMPTZ,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX "WebhookDelivery_due_idx" ON "WebhookDelivery" ("endpointId", "shard", "eventSeq") WHERE "status" = 'pending';
      CREATE INDEX "WebhookDelivery_stream_idx" ON "WebhookDelivery" ("endpointId", "orderingKey", "eventSeq") WHERE "status" = 'pending';
      CREATE INDEX "WebhookDelivery_log_idx" ON "WebhookDelivery" ("endpointId", "id");
      CREATE INDEX "WebhookDelivery_eventSeq_idx" ON "WebhookDelivery" ("eventSeq");

      CREATE TABLE "HostEventConsumer" (
        "name" TEXT PRIMARY KEY,
        "position" BIGINT NOT NULL DEFAULT 0,
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );

      CREATE TABLE "AuditTrailReschedule" (
        "eventId" TEXT PRIMARY KEY,
        "bookingId" INTEGER NOT NULL,
        "source" TEXT NOT NULL,
        "fromStart" TIMESTAMPTZ,
        "toStart" TIMESTAMPTZ,
        "fromEnd" TIMESTAMPTZ,
        "toEnd" TIMESTAMPTZ,
        "at" TIMESTAMPTZ NOT NULL,
        "recordedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX "AuditTrailReschedule_bookingId_idx" ON "AuditTrailReschedule" ("bookingId", "at");
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE IF EXISTS "AuditTrailReschedule";
      DROP TABLE IF EXISTS "HostEventConsumer";
      DROP TABLE IF EXISTS "WebhookDelivery";
      DROP TABLE IF EXISTS "WebhookEndpoint";
      DROP TABLE IF EXISTS "HostEvent";
    `);
  }
}
