import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A version per calendar that moves whenever its cached events change, by any path (a sync page,
 * a reconcile, clean-up, a clear, a hand-made fix in SQL): statement-level triggers on
 * "CalendarCacheEvent" bump it in the same transaction as the change. Busy-time answers are
 * memoized under it, so a sync that changed nothing keeps them warm and one that did can never
 * leave a stale answer behind.
 */
export class CacheVersion1763800000003 implements MigrationInterface {
  name = 'CacheVersion1763800000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "SelectedCalendar" ADD COLUMN "cacheVersion" BIGINT NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE FUNCTION "calsync_bump_cache_version"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "SelectedCalendar" SET "cacheVersion" = "cacheVersion" + 1
         WHERE "id" IN (SELECT DISTINCT "selectedCalendarId" FROM changed);
        RETURN NULL;
      END
      $$`);
    // A trigger with a transition table serves one kind of statement, hence three.
    await q.query(`
      CREATE TRIGGER "CalendarCacheEvent_version_insert" AFTER INSERT ON "CalendarCacheEvent"
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "calsync_bump_cache_version"()`);
    await q.query(`
      CREATE TRIGGER "CalendarCacheEvent_version_update" AFTER UPDATE ON "CalendarCacheEvent"
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "calsync_bump_cache_version"()`);
    await q.query(`
      CREATE TRIGGER "CalendarCacheEvent_version_delete" AFTER DELETE ON "CalendarCacheEvent"
        REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "calsync_bump_cache_version"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS "CalendarCacheEvent_version_delete" ON "CalendarCacheEvent"`);
    await q.query(`DROP TRIGGER IF EXISTS "CalendarCacheEvent_version_update" ON "CalendarCacheEvent"`);
    await q.query(`DROP TRIGGER IF EXISTS "CalendarCacheEvent_version_insert" ON "CalendarCacheEvent"`);
    await q.query(`DROP FUNCTION IF EXISTS "calsync_bump_cache_version"()`);
    await q.query(`ALTER TABLE "SelectedCalendar" DROP COLUMN "cacheVersion"`);
  }
}
