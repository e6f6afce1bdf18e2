import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { preparedQuery } from '../../infrastructure/database/prepared-query.js';
import { USER_TEAM_ANCESTRY } from '../accounts/index.js';
import { type FlagResolution, resolveFlag } from './domain/resolve-flag.js';

export const CACHE_FLAG = 'calendar-subscription-cache';
export const SYNC_FLAG = 'calendar-subscription-sync';

const TTL_MS = 2000;

/** The columns `flagInputsSql` adds: what `resolveFlag` decides from. */
export interface FlagInputRow {
  userFlag: boolean | null;
  teamFlags: boolean[] | null;
  globalFlag: boolean | null;
}

/**
 * The inputs of flag `slug` (an SQL expression: a parameter) for user `userId` (an SQL expression)
 * as three columns, `"userFlag"`, `"teamFlags"` and `"globalFlag"` (`FlagInputRow`): for this
 * service's query and for a statement of another module that needs a flag beside its own rows
 * (busy times of a user not asked about lately read the cache flag with the calendars). The teams
 * are the user's and their parents, from accounts' read model `USER_TEAM_ANCESTRY`.
 */
export function flagInputsSql(slug: string, userId: string): string {
  return `(SELECT uf."enabled" FROM "UserFeatures" uf WHERE uf."userId" = ${userId} AND uf."featureId" = ${slug}) AS "userFlag",
          (SELECT array_agg(tf."enabled") FROM ${USER_TEAM_ANCESTRY}(ARRAY[${userId}]) a
             JOIN "TeamFeatures" tf ON tf."teamId" = a."teamId" AND tf."featureId" = ${slug}) AS "teamFlags",
          (SELECT f."enabled" FROM "Feature" f WHERE f."slug" = ${slug}) AS "globalFlag"`;
}

/** Past this many cached answers, the expired ones are dropped. */
export const MAX_CACHED_FLAG_RESOLUTIONS = 10_000;

/**
 * Resolves flags for users in one indexed query, with a short-lived cache: an admin's change takes
 * effect on every instance within `TTL_MS`, and at once on the instance that made it. The users'
 * teams and parent teams come from accounts' read model `USER_TEAM_ANCESTRY`, joined into that
 * same query; this module reads only its own tables besides.
 */
@Injectable()
export class FeatureFlagService {
  private readonly cache = new Map<string, { at: number; value: FlagResolution }>();
  /**
   * Bumped by every `invalidate`. An answer read before the latest one is returned but not cached:
   * a resolution in flight while an admin changes a flag may have read the flag before the change,
   * and caching it after `invalidate` would hide the change on this instance for `TTL_MS`.
   */
  private generation = 0;
  /** When expired entries were last dropped (see `resolveMany`). */
  private sweptAt = Number.NEGATIVE_INFINITY;

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
    const generation = this.generation;
    // A prepared statement: it is on every busy-times request and every sync of a user not seen
    // within `TTL_MS`, and planning the ancestry's recursion cost about as much as running it.
    const rows: Array<FlagInputRow & { userId: number }> = await preparedQuery(
      this.dataSource,
      `SELECT u.id AS "userId", ${flagInputsSql('$2', 'u.id')} FROM unnest($1::int[]) AS u(id)`,
      [missing, slug],
    );
    // Entries of users not asked about again are dropped once there are many (a random stream of
    // users must not grow this without bound), at most once per `TTL_MS`: a burst of fresh entries is
    // not scanned at every miss.
    if (this.cache.size > MAX_CACHED_FLAG_RESOLUTIONS && now - this.sweptAt >= TTL_MS) {
      this.sweptAt = now;
      for (const [key, entry] of this.cache) if (now - entry.at >= TTL_MS) this.cache.delete(key);
    }
    for (const row of rows) result.set(row.userId, this.remember(slug, row.userId, row, now, generation));
    return result;
  }

  /**
   * Taken before a caller's own statement reads a flag's inputs with `flagInputsSql`, and handed to
   * `resolveRead` with them (see `generation`).
   */
  get readMark(): number {
    return this.generation;
  }

  /**
   * The flag for the user from inputs a caller's own statement read with `flagInputsSql` (one
   * round trip for what it needed besides), kept as `resolve` keeps its answers unless a change
   * was made here since `readMark` was taken.
   */
  resolveRead(slug: string, userId: number, row: FlagInputRow, readMark: number): FlagResolution {
    return this.remember(slug, userId, row, Date.now(), readMark);
  }

  private remember(slug: string, userId: number, row: FlagInputRow, now: number, generation: number): FlagResolution {
    const value = resolveFlag({ user: row.userFlag, teams: row.teamFlags ?? [], global: row.globalFlag });
    if (generation === this.generation) this.cache.set(`${slug}:${userId}`, { at: now, value });
    return value;
  }

  /** Called by the admin API after a change, so this instance sees it immediately. */
  invalidate(): void {
    this.generation += 1;
    this.cache.clear();
  }
}
