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

@Injectable()
export class BusySourceCalendarsReadModel {
  constructor(private readonly dataSource: DataSource) {}

  /** null for an unknown user. */
  async forUser(userId: number): Promise<BusySources | null> {
    const rows: Row[] = await preparedQuery(
      this.dataSource,
      `SELECT u."timeZone" AS "userTimeZone", sc."id", sc."credentialId", sc."externalId", sc."integration", sc."cacheEnabled",
              sc."syncToken", sc."cacheCoveredUntil", sc."channelId", sc."channelExpiration", sc."syncedAt",
              sc."cacheVersion"::text AS "cacheVersion", c."status" AS "credentialStatus"
         FROM "User" u
         LEFT JOIN ("SelectedCalendar" sc JOIN "Credential" c ON c."id" = sc."credentialId")
                ON sc."userId" = u."id" AND sc."busySource"
        WHERE u."id" = $1
        ORDER BY sc."id"`,
      [userId],
    );
    if (rows.length === 0) return null;
    return { timeZone: rows[0].userTimeZone, calendars: rows.filter((r): r is Row & BusySourceCalendar => r.id !== null) };
  }
}
