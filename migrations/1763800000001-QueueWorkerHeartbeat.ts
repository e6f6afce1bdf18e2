import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Liveness of job-queue workers, so jobs held by a dead process are released in seconds, not hours. */
export class QueueWorkerHeartbeat1763800000001 implements MigrationInterface {
  name = 'QueueWorkerHeartbeat1763800000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "QueueWorker" (
        "workerId" TEXT PRIMARY KEY,
        "host" TEXT NOT NULL,
        "startedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "heartbeatAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX "QueueWorker_heartbeatAt_idx" ON "QueueWorker" ("heartbeatAt");
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "QueueWorker"`);
  }
}
