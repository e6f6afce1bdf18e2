import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sync preferences (owned by the sync-preferences module): what a user, or a team, lets calendar
 * changes do to bookings. A null column is "not set here" (the value is inherited: user over teams
 * over defaults), so a PUT of a subset only touches the columns it names.
 */
export class SyncPreferences1763800000016 implements MigrationInterface {
  name = 'SyncPreferences1763800000016';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, key, parent] of [
      ['UserSyncPreferences', 'userId', 'User'],
      ['TeamSyncPreferences', 'teamId', 'Team'],
    ] as const) {
      await q.query(`
        CREATE TABLE "${table}" (
          "${key}" integer PRIMARY KEY REFERENCES "${parent}"("id") ON DELETE CASCADE,
          "applyReschedules" boolean,
          "applyCancellations" boolean,
          "applyDetails" boolean,
          "applyAttendees" boolean,
          "conflictPolicy" text CHECK ("conflictPolicy" IN ('accept', 'revert', 'flag')),
          "updatedAt" timestamptz NOT NULL DEFAULT now()
        )`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "TeamSyncPreferences"`);
    await q.query(`DROP TABLE IF EXISTS "UserSyncPreferences"`);
  }
}
