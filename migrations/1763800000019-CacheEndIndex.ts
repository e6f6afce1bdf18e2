import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops `CalendarCacheEvent_end_idx` (issue 13: a first sync at ≥ 50,000 events/s). Every cached
 * row paid for it on every sync's insert (a tenth of a page's insert), for one reader: the daily
 * clean-up of ended events (`DELETE … WHERE "end" <= now()`). That delete is served as well by the
 * range index's `"end"` column (`CalendarCacheEvent_range_idx`, read whole: about 8 ms over
 * 1,000,000 cached events on PostgreSQL 15, against under 2 ms with the dropped index), once a day.
 */
export class CacheEndIndex1763800000019 implements MigrationInterface {
  name = 'CacheEndIndex1763800000019';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS "CalendarCacheEvent_end_idx"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS "CalendarCacheEvent_end_idx" ON "CalendarCacheEvent" ("end")`);
  }
}
