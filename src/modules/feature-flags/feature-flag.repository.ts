import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AssignmentScope, FeatureAssignment } from './domain/feature-assignment.js';
import type { FeatureEntity, FeatureType } from './entities/feature.entity.js';

/** A write's result, and whether it changed anything (writes that would not are skipped). */
export interface Written<T> {
  row: T;
  changed: boolean;
}

// Fixed identifiers, never caller input: safe to interpolate.
const ASSIGNMENT_TABLES: Record<AssignmentScope, { table: string; column: string }> = {
  user: { table: '"UserFeatures"', column: '"userId"' },
  team: { table: '"TeamFeatures"', column: '"teamId"' },
};

/**
 * SQL for "Feature", "UserFeatures" and "TeamFeatures". Each write is one statement, so it is atomic
 * without a transaction, and a write that would change nothing touches no row (updatedAt and the
 * audit columns keep telling who made the last real change).
 */
@Injectable()
export class FeatureFlagRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Flags by slug: after `afterSlug` (a page's cursor), at most `limit` of them. */
  list(page: { afterSlug?: string; limit?: number } = {}): Promise<FeatureEntity[]> {
    return this.dataSource.query(`SELECT * FROM "Feature" WHERE ($1::text IS NULL OR "slug" > $1) ORDER BY "slug" LIMIT $2`, [
      page.afterSlug ?? null,
      page.limit ?? null,
    ]);
  }

  async find(slug: string): Promise<FeatureEntity | null> {
    const rows: FeatureEntity[] = await this.dataSource.query(`SELECT * FROM "Feature" WHERE "slug" = $1`, [slug]);
    return rows[0] ?? null;
  }

  /** Null when a flag with this slug exists already. */
  async create(input: {
    slug: string;
    enabled: boolean;
    description: string | null;
    type: FeatureType;
    actor: string;
  }): Promise<FeatureEntity | null> {
    const rows: FeatureEntity[] = await this.dataSource.query(
      `INSERT INTO "Feature" ("slug", "enabled", "description", "type", "updatedBy")
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT ("slug") DO NOTHING
       RETURNING *`,
      [input.slug, input.enabled, input.description, input.type, input.actor],
    );
    return rows[0] ?? null;
  }

  /** Null when there is no such flag. */
  async setEnabled(slug: string, enabled: boolean, actor: string): Promise<Written<FeatureEntity> | null> {
    const rows: Array<FeatureEntity & { changed: boolean }> = await this.dataSource.query(
      `WITH updated AS (
         UPDATE "Feature" SET "enabled" = $2, "updatedBy" = $3, "updatedAt" = now()
          WHERE "slug" = $1 AND "enabled" IS DISTINCT FROM $2
         RETURNING *, true AS "changed"
       )
       SELECT * FROM updated`,
      [slug, enabled, actor],
    );
    if (rows[0]) return split(rows[0]);
    // Nothing changed (or no such flag). Read by a statement of its own, not in the UPDATE's: a
    // concurrent PATCH may have set the same value and committed after that statement's snapshot.
    const current: Array<FeatureEntity & { changed: boolean }> = await this.dataSource.query(
      `SELECT *, false AS "changed" FROM "Feature" WHERE "slug" = $1`,
      [slug],
    );
    return current[0] ? split(current[0]) : null;
  }

  /**
   * Creates or changes an assignment. `assignedAt` stays the first assignment's time; `assignedBy`
   * and `updatedAt` follow each change. The flag must exist (a foreign key); the routes check the target exists first (the seed's rows may name ids no user or team has).
   */
  async upsertAssignment(
    scope: AssignmentScope,
    slug: string,
    targetId: number,
    enabled: boolean,
    actor: string,
  ): Promise<Written<FeatureAssignment>> {
    const { table, column } = ASSIGNMENT_TABLES[scope];
    for (let attempt = 1; ; attempt++) {
      const rows: Array<FeatureAssignment & { changed: boolean }> = await this.dataSource.query(
        `WITH written AS (
           INSERT INTO ${table} (${column}, "featureId", "enabled", "assignedAt", "assignedBy", "updatedAt")
           VALUES ($1, $2, $3, now(), $4, now())
           ON CONFLICT (${column}, "featureId") DO UPDATE
             SET "enabled" = EXCLUDED."enabled", "assignedBy" = EXCLUDED."assignedBy", "updatedAt" = now()
             WHERE ${table}."enabled" IS DISTINCT FROM EXCLUDED."enabled"
           RETURNING *, true AS "changed"
         )
         SELECT * FROM written`,
        [targetId, slug, enabled, actor],
      );
      if (rows[0]) return split(rows[0]);
      // Nothing changed: read by a statement of its own, not in the upsert's (the same assignment,
      // written by a concurrent PUT that committed after that statement's snapshot, is missing from
      // it or old there). Removed again in between, the upsert runs once more.
      const current: Array<FeatureAssignment & { changed: boolean }> = await this.dataSource.query(
        `SELECT *, false AS "changed" FROM ${table} WHERE ${column} = $1 AND "featureId" = $2`,
        [targetId, slug],
      );
      if (current[0]) return split(current[0]);
      if (attempt === UPSERT_ATTEMPTS) {
        throw new Error(`Assignment of ${slug} to ${scope} ${targetId} removed ${UPSERT_ATTEMPTS} times while it was written`);
      }
    }
  }

  /** False when there was no such assignment. */
  async deleteAssignment(scope: AssignmentScope, slug: string, targetId: number): Promise<boolean> {
    const { table, column } = ASSIGNMENT_TABLES[scope];
    // Wrapped in a SELECT: TypeORM answers a bare DELETE with [rows, count] instead of rows.
    const rows: unknown[] = await this.dataSource.query(
      `WITH deleted AS (DELETE FROM ${table} WHERE ${column} = $1 AND "featureId" = $2 RETURNING 1) SELECT 1 FROM deleted`,
      [targetId, slug],
    );
    return rows.length > 0;
  }
}

/** An assignment removed again between the upsert and its read this often is a fight, not a race: a 500. */
const UPSERT_ATTEMPTS = 5;

function split<T>({ changed, ...row }: T & { changed: boolean }): Written<T> {
  return { row: row as T, changed };
}
