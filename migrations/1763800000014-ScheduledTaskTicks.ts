import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scheduled task ticks, owned by subscriptions. Every instance's timer fires at the same wall-clock
 * boundaries (multiples of the task's interval); the first to advance a task's `tick` here enqueues
 * its run, in the same transaction, so a tick runs once however many instances are up. A job key
 * alone cannot promise that: it dedupes a waiting job, not one that already ran.
 */
export class ScheduledTaskTicks1763800000014 implements MigrationInterface {
  name = 'ScheduledTaskTicks1763800000014';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "ScheduledTaskTick" (
        "task" TEXT PRIMARY KEY,
        "tick" BIGINT NOT NULL,
        "claimedAt" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "ScheduledTaskTick"`);
  }
}
