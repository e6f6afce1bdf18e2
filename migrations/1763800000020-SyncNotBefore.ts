import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `SelectedCalendar."syncNotBefore"`: a provider's `Retry-After` longer than a sync waits in-process
 * (Graph throttling asks for minutes at times). Every sync of the calendar, whatever asked for it,
 * waits until then instead of calling the provider again into its throttling. Nullable, no default:
 * no existing row changes.
 */
export class SyncNotBefore1763800000020 implements MigrationInterface {
  name = 'SyncNotBefore1763800000020';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "SelectedCalendar" ADD COLUMN IF NOT EXISTS "syncNotBefore" timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "SelectedCalendar" DROP COLUMN IF EXISTS "syncNotBefore"`);
  }
}
