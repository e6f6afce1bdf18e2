import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far ahead a calendar's cache is complete. Incremental sync only reports events that changed,
 * so an old event entering the sliding window is only seen by a full listing: the cache is trusted
 * up to the end of the window of its last full sync, and refreshed by a full sync once a day.
 */
export class CacheCoverage1763800000002 implements MigrationInterface {
  name = 'CacheCoverage1763800000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "SelectedCalendar" ADD COLUMN "cacheCoveredUntil" TIMESTAMPTZ`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "SelectedCalendar" DROP COLUMN "cacheCoveredUntil"`);
  }
}
