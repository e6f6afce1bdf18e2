import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `HostEventConsumer."failures"`, `"retryAt"` and `"lastError"`: a consumer whose handler throws
 * is tried again at `retryAt`, a wait that grows with its consecutive failures, by one keyed job;
 * runs that new events queue before then leave it alone (before, each new event retried it at
 * once). `lastError` says what the handler threw. Defaults: no existing consumer is failing.
 */
export class HostEventConsumerBackoff1763800000024 implements MigrationInterface {
  name = 'HostEventConsumerBackoff1763800000024';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "HostEventConsumer" ADD COLUMN IF NOT EXISTS "failures" integer NOT NULL DEFAULT 0,
                                       ADD COLUMN IF NOT EXISTS "retryAt" timestamptz,
                                       ADD COLUMN IF NOT EXISTS "lastError" text`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "HostEventConsumer" DROP COLUMN IF EXISTS "failures", DROP COLUMN IF EXISTS "retryAt", DROP COLUMN IF EXISTS "lastError"`,
    );
  }
}
