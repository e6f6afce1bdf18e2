import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The seed document's assignment rows (`INSERT INTO "UserFeatures" … VALUES (123, …)`, the same for
 * team 456) must be accepted verbatim (CONTRACT.md, database compatibility), also on a database
 * where user 123 or team 456 does not exist (yet): a host application may assign flags to its own
 * ids before it has created those users here. So `UserFeatures."userId"` and
 * `TeamFeatures."teamId"` no longer reference "User" and "Team". An assignment for an id no user
 * has simply takes effect once the user exists. Users and teams are never deleted by calsync, so
 * the `ON DELETE CASCADE` that went with the keys removed nothing in practice. The flag itself
 * (`featureId` → "Feature") keeps its key: the seed inserts the flags first.
 */
export class SeedAssignmentsWithoutUsers1763800000021 implements MigrationInterface {
  name = 'SeedAssignmentsWithoutUsers1763800000021';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "UserFeatures" DROP CONSTRAINT IF EXISTS "UserFeatures_userId_fkey"`);
    await q.query(`ALTER TABLE "TeamFeatures" DROP CONSTRAINT IF EXISTS "TeamFeatures_teamId_fkey"`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Assignments of ids no user or team has would stop the keys from coming back: they go.
    await q.query(`DELETE FROM "UserFeatures" uf WHERE NOT EXISTS (SELECT 1 FROM "User" u WHERE u."id" = uf."userId")`);
    await q.query(`DELETE FROM "TeamFeatures" tf WHERE NOT EXISTS (SELECT 1 FROM "Team" t WHERE t."id" = tf."teamId")`);
    await q.query(
      `ALTER TABLE "UserFeatures" ADD CONSTRAINT "UserFeatures_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE`,
    );
    await q.query(
      `ALTER TABLE "TeamFeatures" ADD CONSTRAINT "TeamFeatures_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE CASCADE`,
    );
  }
}
