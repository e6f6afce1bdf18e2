import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The cache's write path without a check per row (issue 13: a first sync at ≥ 50,000 events/s).
 *
 * The foreign key from "CalendarCacheEvent" to "SelectedCalendar" ran one referential check per
 * inserted row: about half of a page's insert. What it guaranteed stays guaranteed, once per
 * statement instead of once per row:
 * - no cached event without its calendar: the sync's page write locks its calendar's row (KEY
 *   SHARE, what the foreign key's check took per row) in the same statement, before it inserts,
 *   and inserts nothing when the row is gone (`CalendarCacheRepository.applyPage`);
 * - removing a calendar removes its cached events: a statement trigger on "SelectedCalendar"
 *   deletes them (it fires for deletes cascaded from "Credential" and "User" too). A delete that
 *   meets a page write in flight waits for the write's lock, so the trigger then sees, and removes,
 *   what the write committed.
 * Other writers of "CalendarCacheEvent" (a hand-made fix in SQL) are trusted as with any table
 * without a key; `down` removes orphans before it puts the key back.
 */
export class CacheWritePath1763800000018 implements MigrationInterface {
  name = 'CacheWritePath1763800000018';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "CalendarCacheEvent" DROP CONSTRAINT "CalendarCacheEvent_selectedCalendarId_fkey"`);
    await q.query(`
      CREATE FUNCTION "calsync_remove_cached_events"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" IN (SELECT "id" FROM removed);
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER "SelectedCalendar_remove_cached_events" AFTER DELETE ON "SelectedCalendar"
        REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION "calsync_remove_cached_events"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS "SelectedCalendar_remove_cached_events" ON "SelectedCalendar"`);
    await q.query(`DROP FUNCTION IF EXISTS "calsync_remove_cached_events"()`);
    await q.query(`
      DELETE FROM "CalendarCacheEvent" e
       WHERE NOT EXISTS (SELECT 1 FROM "SelectedCalendar" sc WHERE sc."id" = e."selectedCalendarId")`);
    await q.query(`
      ALTER TABLE "CalendarCacheEvent" ADD CONSTRAINT "CalendarCacheEvent_selectedCalendarId_fkey"
        FOREIGN KEY ("selectedCalendarId") REFERENCES "SelectedCalendar"("id") ON DELETE CASCADE`);
  }
}
