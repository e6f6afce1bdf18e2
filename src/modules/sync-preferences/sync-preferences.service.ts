import { Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { DataSource, type EntityManager } from 'typeorm';
import { GetTeamQuery, GetUserQuery, TeamNotFoundError, USER_TEAM_ANCESTRY, UserNotFoundError } from '../accounts/index.js';
import {
  PREFERENCE_FIELDS,
  type PreferenceExplanation,
  type StoredPreferences,
  type SyncPreferences,
  resolvePreferences,
  valuesOf,
} from './domain/resolve-preferences.js';

/** Same window as the feature flags: another instance sees a change within this long. */
const TTL_MS = 2000;
/**
 * Past this many cached users, expired entries are dropped (at most once per `TTL_MS`, so a burst of
 * fresh ones is not scanned at every insert): a stream of distinct users must not grow the cache
 * without bound.
 */
export const MAX_CACHED_USERS = 10_000;
/** Team.parentId chains are walked at most this deep (as `UserTeamAncestry` does). */
const MAX_TEAM_DEPTH = 32;

const COLUMNS = PREFERENCE_FIELDS.map((f) => `"${f}"`).join(', ');

/**
 * Stores and resolves sync preferences. A user's effective preferences are resolved in one query
 * (the user's row, and the rows of every team of the user, through accounts' read model
 * `USER_TEAM_ANCESTRY`), cached for `TTL_MS` like the feature flags; a write clears this instance's
 * cache at once, so the next calendar change here already sees it, and others within `TTL_MS`.
 */
@Injectable()
export class SyncPreferencesService {
  private readonly cache = new Map<number, { at: number; value: PreferenceExplanation }>();
  /**
   * Bumped by every `invalidate`. A read that began before the latest one is answered but not
   * cached: it may predate the write that invalidated (two PUTs at once: the first one's read,
   * taken before the second one's commit, would otherwise be cached after the second one cleared
   * the cache, and hide the second one's field for `TTL_MS`).
   */
  private generation = 0;
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly dataSource: DataSource,
    private readonly queries: QueryBus,
  ) {}

  /** The user's effective preferences (user over teams over defaults). */
  async forUser(userId: number, manager?: EntityManager): Promise<SyncPreferences> {
    return valuesOf(await this.explain(userId, manager));
  }

  /**
   * Each field's effective value and where it comes from. `manager`: run the query on that
   * connection (a caller inside a transaction does not take a second connection from the pool).
   */
  async explain(userId: number, manager: EntityManager = this.dataSource.manager): Promise<PreferenceExplanation> {
    const hit = this.cache.get(userId);
    const now = Date.now();
    if (hit && now - hit.at < TTL_MS) return hit.value;
    const generation = this.generation;
    const rows: Array<{ user: StoredPreferences | null; teams: Array<{ teamId: number; stored: StoredPreferences }> | null }> =
      await manager.query(
        `SELECT (SELECT to_jsonb(p) FROM "UserSyncPreferences" p WHERE p."userId" = $1) AS "user",
                (SELECT jsonb_agg(jsonb_build_object('teamId', t."teamId", 'stored', to_jsonb(t)))
                   FROM ${USER_TEAM_ANCESTRY}(ARRAY[$1]::int[]) a
                   JOIN "TeamSyncPreferences" t ON t."teamId" = a."teamId") AS "teams"`,
        [userId],
      );
    const value = resolvePreferences(rows[0]?.user ?? null, rows[0]?.teams ?? []);
    if (generation === this.generation) {
      if (this.cache.size >= MAX_CACHED_USERS && now - this.sweptAt >= TTL_MS) {
        this.sweptAt = now;
        for (const [cached, entry] of this.cache) if (now - entry.at >= TTL_MS) this.cache.delete(cached);
      }
      this.cache.set(userId, { at: now, value });
    }
    return value;
  }

  /** `explain` for the admin API: 404 (`UserNotFoundError`) for an unknown user. The same resolution (and cache) the sync uses. */
  async explainUser(userId: number): Promise<PreferenceExplanation> {
    await this.queries.execute(new GetUserQuery(userId));
    return this.explain(userId);
  }

  /** 404 (`UserNotFoundError`) for an unknown user. */
  async getUser(userId: number): Promise<SyncPreferences> {
    await this.queries.execute(new GetUserQuery(userId));
    return this.forUser(userId);
  }

  /**
   * What a member of this team gets when they set nothing themselves: the team's own values and
   * its parent teams', the most restrictive winning (as for a user), over the defaults.
   */
  async getTeam(teamId: number): Promise<SyncPreferences> {
    const chain: number[] = [];
    let next: number | null = teamId;
    while (next !== null && chain.length < MAX_TEAM_DEPTH && !chain.includes(next)) {
      const team: { id: number; parentId: number | null } = await this.queries.execute(new GetTeamQuery(next));
      chain.push(team.id);
      next = team.parentId;
    }
    const rows: Array<StoredPreferences & { teamId: number }> = await this.dataSource.query(
      `SELECT "teamId", ${COLUMNS} FROM "TeamSyncPreferences" WHERE "teamId" = ANY($1::int[])`,
      [chain],
    );
    return valuesOf(
      resolvePreferences(
        null,
        rows.map((row) => ({ teamId: row.teamId, stored: row })),
      ),
    );
  }

  /** Stores the fields `patch` names (null clears one: inherited again); the others stay. */
  async setUser(userId: number, patch: StoredPreferences): Promise<SyncPreferences> {
    await this.queries.execute(new GetUserQuery(userId));
    await this.upsert('UserSyncPreferences', 'userId', userId, patch, () => new UserNotFoundError(userId));
    return this.forUser(userId);
  }

  async setTeam(teamId: number, patch: StoredPreferences): Promise<SyncPreferences> {
    await this.queries.execute(new GetTeamQuery(teamId));
    await this.upsert('TeamSyncPreferences', 'teamId', teamId, patch, () => new TeamNotFoundError(teamId));
    return this.getTeam(teamId);
  }

  invalidate(): void {
    this.generation += 1;
    this.cache.clear();
  }

  /**
   * One statement: concurrent PUTs of different fields both stay (each sets only its own columns),
   * and of the same field the later commit wins.
   */
  private async upsert(table: string, key: string, id: number, patch: StoredPreferences, notFound: () => Error): Promise<void> {
    const fields = PREFERENCE_FIELDS.filter((f) => patch[f] !== undefined);
    const values = fields.map((f) => patch[f]);
    const names = fields.map((f) => `"${f}"`);
    const sets = [...names.map((n) => `${n} = EXCLUDED.${n}`), `"updatedAt" = now()`];
    try {
      await this.dataSource.query(
        `INSERT INTO "${table}" ("${key}"${names.map((n) => `, ${n}`).join('')})
         VALUES ($1${fields.map((_, i) => `, $${i + 2}`).join('')})
         ON CONFLICT ("${key}") DO UPDATE SET ${sets.join(', ')}`,
        [id, ...values],
      );
    } catch (error) {
      // Removed between the check and the write.
      if ((error as { code?: string }).code === '23503') throw notFound();
      throw error;
    } finally {
      this.invalidate();
    }
  }
}
