import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { preparedQuery } from '../../infrastructure/database/prepared-query.js';
import { USER_TEAM_ANCESTRY } from '../accounts/index.js';
import { type FlagResolution, resolveFlag } from './domain/resolve-flag.js';

export const CACHE_FLAG = 'calendar-subscription-cache';
export const SYNC_FLAG = 'calendar-subscription-sync';

const TTL_MS = 2000;
const MAX_CACHED = 10_000;

/**
 * Resolves flags for users in one indexed query, with a short-lived cache: an admin's change takes
 * effect on every instance within `TTL_MS`, and at once on the instance that made it. The users'
 * teams and parent teams come from accounts' read model `USER_TEAM_ANCESTRY`, joined into that
 * same query; this module reads only its own tables besides.
 */
@Injectable()
export class FeatureFlagService {
  private readonly cache = new Map<string, { at: number; value: FlagResolution }>();

  constructor(private readonly dataSource: DataSource) {}

  async isEnabled(slug: string, userId: number): Promise<boolean> {
    return (await this.resolve(slug, userId)).enabled;
  }

  async resolve(slug: string, userId: number): Promise<FlagResolution> {
    return (await this.resolveMany(slug, [userId])).get(userId)!;
  }

  async resolveMany(slug: string, userIds: number[]): Promise<Map<number, FlagResolution>> {
    const now = Date.now();
    const result = new Map<number, FlagResolution>();
    const missing: number[] = [];
    for (const id of new Set(userIds)) {
      const hit = this.cache.get(`${slug}:${id}`);
      if (hit && now - hit.at < TTL_MS) result.set(id, hit.value);
      else missing.push(id);
    }
    if (missing.length === 0) return result;
    // A prepared statement: it is on every busy-times request and every sync of a user not seen
    // within `TTL_MS`, and planning the ancestry's recursion cost about as much as running it.
    const rows: Array<{ userId: number; userFlag: boolean | null; teamFlags: boolean[] | null; globalFlag: boolean | null }> =
      await preparedQuery(
        this.dataSource,
        `WITH ancestry AS MATERIALIZED (SELECT "userId", "teamId" FROM ${USER_TEAM_ANCESTRY}($1::int[]))
         SELECT u.id AS "userId",
                (SELECT uf."enabled" FROM "UserFeatures" uf WHERE uf."userId" = u.id AND uf."featureId" = $2) AS "userFlag",
                (SELECT array_agg(tf."enabled") FROM ancestry a
                   JOIN "TeamFeatures" tf ON tf."teamId" = a."teamId" AND tf."featureId" = $2
                  WHERE a."userId" = u.id) AS "teamFlags",
                (SELECT f."enabled" FROM "Feature" f WHERE f."slug" = $2) AS "globalFlag"
           FROM unnest($1::int[]) AS u(id)`,
        [missing, slug],
      );
    // Entries of users not asked about again are dropped once there are many (a random stream of
    // users must not grow this without bound).
    if (this.cache.size > MAX_CACHED) for (const [key, entry] of this.cache) if (now - entry.at >= TTL_MS) this.cache.delete(key);
    for (const row of rows) {
      const value = resolveFlag({ user: row.userFlag, teams: row.teamFlags ?? [], global: row.globalFlag });
      this.cache.set(`${slug}:${row.userId}`, { at: now, value });
      result.set(row.userId, value);
    }
    return result;
  }

  /** Called by the admin API after a change, so this instance sees it immediately. */
  invalidate(): void {
    this.cache.clear();
  }
}
