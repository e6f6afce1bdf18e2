/**
 * Read model: a user's time zone and busy-source calendars, with what deciding "cache or live"
 * needs of each, in one round trip (GET busy-times is the hot read path; this is its only query
 * when the answer is memoized).
 * - Owner: connections (it owns the calendars and credentials this lists; the other columns ride
 *   along). A change to any column below changes this query, reviewed by connections.
 * - Read by: availability (`GetBusyTimesHandler`).
 * - Reads: User (accounts) `id`, `timeZone`;
 *   SelectedCalendar (connections: identity) `id`, `userId`, `credentialId`, `externalId`,
 *   `integration`, `busySource`; (sync: cursor and cache) `syncToken`, `syncedAt`, `cacheEnabled`,
 *   `cacheCoveredUntil`, `cacheVersion`; (subscriptions: channel) `channelId`, `channelExpiration`;
 *   Credential (connections) `id`, `status`.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { preparedQuery } from '../../../infrastructure/database/prepared-query.js';
import type { ProviderName } from '../../../config/app-config.js';
import type { CredentialEntity } from '../entities/credential.entity.js';

/** A calendar the user reads busy times from. */
export interface BusySourceCalendar {
  id: number;
  credentialId: number;
  externalId: string;
  integration: ProviderName;
  credentialStatus: CredentialEntity['status'];
  cacheEnabled: boolean;
  syncToken: string | null;
  cacheCoveredUntil: Date | null;
  syncedAt: Date | null;
  /** Moves with every change to the calendar's cached events (a bigint, as text). */
  cacheVersion: string;
  channelId: string | null;
  channelExpiration: Date | null;
}

export interface BusySources {
  timeZone: string;
  /** By id. */
  calendars: BusySourceCalendar[];
}

/** A row of the query: the user's time zone with one calendar, or with nulls (the LEFT JOIN's row for a user without any). */
type Row = { userTimeZone: string } & (BusySourceCalendar | { id: null });

/**
 * The query's parts, for a read model that lists the same calendars with more of each in one
 * statement (`CachedBusyTimelinesReadModel.readForUser` adds their cached timelines): the columns
 * (User as `u`, SelectedCalendar as `sc`, Credential as `c`) and the FROM clause for user `$1`.
 * Rows of `SELECT ${BUSY_SOURCES_COLUMNS} ${BUSY_SOURCES_FROM} ORDER BY sc."id"` go to `busySourcesOf`.
 */
export const BUSY_SOURCES_COLUMNS = `u."timeZone" AS "userTimeZone", sc."id", sc."credentialId", sc."externalId", sc."integration",
       sc."cacheEnabled", sc."syncToken", sc."cacheCoveredUntil", sc."channelId", sc."channelExpiration", sc."syncedAt",
       sc."cacheVersion"::text AS "cacheVersion", c."status" AS "credentialStatus"`;
export const BUSY_SOURCES_FROM = `FROM "User" u
  LEFT JOIN ("SelectedCalendar" sc JOIN "Credential" c ON c."id" = sc."credentialId")
         ON sc."userId" = u."id" AND sc."busySource"
 WHERE u."id" = $1`;

/** The rows of the query (ordered by calendar id) as the user's busy sources; null for an unknown user (no row). */
export function busySourcesOf(rows: readonly object[]): BusySources | null {
  const typed = rows as Row[];
  if (typed.length === 0) return null;
  return { timeZone: typed[0].userTimeZone, calendars: typed.filter((r): r is Row & BusySourceCalendar => r.id !== null) };
}

@Injectable()
export class BusySourceCalendarsReadModel {
  constructor(private readonly dataSource: DataSource) {}

  /** null for an unknown user. */
  async forUser(userId: number): Promise<BusySources | null> {
    const rows: Row[] = await preparedQuery(
      this.dataSource,
      `SELECT ${BUSY_SOURCES_COLUMNS} ${BUSY_SOURCES_FROM} ORDER BY sc."id"`,
      [userId],
    );
    return busySourcesOf(rows);
  }
}
