import { preparedQuery } from '../../infrastructure/database/prepared-query.js';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CalendarCacheRepository } from './calendar-cache.repository.js';
import { type SyncCheckpoint, SyncStateStore } from './ports/sync-state-store.port.js';
import { HostEventRecorder } from '../host-events/ports/host-event-recorder.port.js';

/** The calendar has no channel and a channel attempt is due after a failure (subscriptions' columns). */
const CHANNEL_FAILING = `("channelId" IS NULL AND "nextSubscribeAttemptAt" IS NOT NULL)`;

/** `SyncStateStore` in SQL: one statement per call, on the caller's manager. */
@Injectable()
export class SyncStateRepository implements SyncStateStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly cache: CalendarCacheRepository,
    private readonly hostEvents: HostEventRecorder,
  ) {}

  /**
   * A successful sync clears the calendar's failure, unless it is a channel that still cannot be
   * opened (no channel, an attempt due: subscriptions' columns, read only): the safety-net sweep
   * syncs such a calendar, and its success must not reset the channel's backoff, re-announce
   * `calendar.sync_failed` at the next failed attempt, or hide that no push will come.
   */
  async saveCursor(manager: EntityManager, selectedCalendarId: number, checkpoint: SyncCheckpoint): Promise<void> {
    await preparedQuery(
      manager,
      `UPDATE "SelectedCalendar" SET "syncToken" = $2, "syncedAt" = now(), "syncNotBefore" = NULL,
              "syncErrorCount" = CASE WHEN ${CHANNEL_FAILING} THEN "syncErrorCount" ELSE 0 END,
              "lastError" = CASE WHEN ${CHANNEL_FAILING} THEN "lastError" ELSE NULL END,
              "cacheEnabled" = $3,
              "cacheCoveredUntil" = CASE WHEN NOT $3 THEN NULL WHEN $4 THEN $5::timestamptz ELSE "cacheCoveredUntil" END,
              "syncCursorWindowEnd" = CASE WHEN $4 THEN $5::timestamptz ELSE "syncCursorWindowEnd" END,
              "updatedAt" = now()
        WHERE "id" = $1`,
      [selectedCalendarId, checkpoint.cursor, checkpoint.cacheEnabled, checkpoint.full, checkpoint.windowEnd],
    );
  }

  async resetCursor(manager: EntityManager, selectedCalendarId: number, { dropCache }: { dropCache: boolean }): Promise<void> {
    await manager.query(
      `UPDATE "SelectedCalendar" SET "syncToken" = NULL, "syncCursorWindowEnd" = NULL,
              "cacheEnabled" = CASE WHEN $2 THEN false ELSE "cacheEnabled" END,
              "cacheCoveredUntil" = CASE WHEN $2 THEN NULL ELSE "cacheCoveredUntil" END, "updatedAt" = now()
        WHERE "id" = $1`,
      [selectedCalendarId, dropCache],
    );
    if (dropCache) await this.cache.clear(manager, selectedCalendarId);
  }

  async dropCache(manager: EntityManager, selectedCalendarId: number): Promise<void> {
    await manager.query(
      `UPDATE "SelectedCalendar" SET "cacheEnabled" = false, "cacheCoveredUntil" = NULL, "updatedAt" = now() WHERE "id" = $1`,
      [selectedCalendarId],
    );
    await this.cache.clear(manager, selectedCalendarId);
  }

  /**
   * The first error after a success (the count goes from 0 to 1) is also the host's
   * `calendar.sync_failed`, in the same transaction; the retries of a failing calendar are not.
   */
  async recordError(
    selectedCalendarId: number,
    message: string,
    manager?: EntityManager,
    options: { retryAfterMs?: number | null } = {},
  ): Promise<void> {
    if (!manager) return this.dataSource.transaction((tx) => this.recordError(selectedCalendarId, message, tx, options));
    const rows: Array<{ syncErrorCount: number; userId: number; credentialId: number; provider: string; externalId: string }> =
      await manager.query(
        `WITH u AS (
           UPDATE "SelectedCalendar" SET "syncErrorAt" = now(), "syncErrorCount" = "syncErrorCount" + 1, "lastError" = $2,
                  "syncNotBefore" = GREATEST("syncNotBefore", now() + ($3::float8 * interval '1 millisecond')), "updatedAt" = now()
            WHERE "id" = $1
           RETURNING "syncErrorCount", "userId", "credentialId", "integration" AS "provider", "externalId")
         SELECT * FROM u`,
        [selectedCalendarId, message.slice(0, 500), options.retryAfterMs ?? null],
      );
    const row = rows[0];
    if (row?.syncErrorCount !== 1) return;
    await this.hostEvents.record(manager, {
      type: 'calendar.sync_failed',
      data: {
        calendar: {
          id: selectedCalendarId,
          userId: row.userId,
          credentialId: row.credentialId,
          provider: row.provider,
          externalCalendarId: row.externalId,
        },
        reason: 'sync_error',
        message: message.slice(0, 500),
      },
    });
  }

  async clearLastError(manager: EntityManager, selectedCalendarId: number): Promise<void> {
    await manager.query(`UPDATE "SelectedCalendar" SET "lastError" = NULL, "updatedAt" = now() WHERE "id" = $1`, [
      selectedCalendarId,
    ]);
  }

  async forgetFailure(manager: EntityManager, selectedCalendarId: number): Promise<void> {
    await manager.query(
      `UPDATE "SelectedCalendar" SET "syncErrorCount" = 0, "lastError" = NULL, "syncNotBefore" = NULL, "updatedAt" = now()
        WHERE "id" = $1 AND "syncErrorCount" > 0`,
      [selectedCalendarId],
    );
  }
}
