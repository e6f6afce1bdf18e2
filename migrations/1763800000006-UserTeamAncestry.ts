import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The accounts module's read model of team membership, for other modules' SQL (see
 * `src/modules/accounts/read-models/user-team-ancestry.read-model.ts`): every team of each user,
 * directly or through parent teams, as a set-returning function, so a caller still answers in one
 * query and the walk stays per user (a view could not take the users, and PostgreSQL does not push
 * a filter into a recursive query).
 */
export class UserTeamAncestry1763800000006 implements MigrationInterface {
  name = 'UserTeamAncestry1763800000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION "UserTeamAncestry"("userIds" integer[])
      RETURNS TABLE ("userId" integer, "teamId" integer)
      LANGUAGE sql STABLE PARALLEL SAFE
      AS $$
        WITH RECURSIVE ancestry AS (
          SELECT m."userId", m."teamId", 0 AS depth FROM "Membership" m WHERE m."userId" = ANY($1)
          UNION
          SELECT a."userId", t."parentId", a.depth + 1
            FROM ancestry a JOIN "Team" t ON t."id" = a."teamId"
           WHERE t."parentId" IS NOT NULL AND a.depth < 32
        )
        SELECT DISTINCT ancestry."userId", ancestry."teamId" FROM ancestry
      $$;
      COMMENT ON FUNCTION "UserTeamAncestry"(integer[]) IS
        'Read model owned by the accounts module: the teams of each user, directly or through parent teams (32 levels at most).';
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS "UserTeamAncestry"(integer[])`);
  }
}
