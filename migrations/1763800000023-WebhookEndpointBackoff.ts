import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `WebhookEndpoint."failingSince"` and `"backoffUntil"`: an endpoint that answered none of a round
 * of deliveries (every request timed out or found no server) is not sent anything before
 * `backoffUntil`, a pause that grows with how long it has been failing (`failingSince`), so a dead
 * receiver costs one round per pause instead of a drain of 10 s attempts holding the webhooks
 * lane's slots. Nullable, no default: no existing endpoint is paused.
 */
export class WebhookEndpointBackoff1763800000023 implements MigrationInterface {
  name = 'WebhookEndpointBackoff1763800000023';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "WebhookEndpoint" ADD COLUMN IF NOT EXISTS "failingSince" timestamptz,
                                     ADD COLUMN IF NOT EXISTS "backoffUntil" timestamptz`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "WebhookEndpoint" DROP COLUMN IF EXISTS "failingSince", DROP COLUMN IF EXISTS "backoffUntil"`);
  }
}
