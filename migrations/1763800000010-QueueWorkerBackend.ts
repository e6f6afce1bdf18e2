import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each queue worker records the PostgreSQL backend of a connection it holds open for its whole
 * life. When the process dies (kill -9, a crash, a lost host), PostgreSQL ends that backend at once,
 * so its absence from pg_stat_activity tells a sibling or the next start within seconds that the
 * worker is gone, instead of waiting for its heartbeat to lapse.
 */
export class QueueWorkerBackend1763800000010 implements MigrationInterface {
  name = 'QueueWorkerBackend1763800000010';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "QueueWorker" ADD COLUMN "backendPid" INTEGER, ADD COLUMN "backendStartedAt" TIMESTAMPTZ`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "QueueWorker" DROP COLUMN "backendPid", DROP COLUMN "backendStartedAt"`);
  }
}
