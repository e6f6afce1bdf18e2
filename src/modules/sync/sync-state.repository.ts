import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CalendarCacheRepository } from './calendar-cache.repository.js';
import { type SyncCheckpoint, SyncStateStore } from './ports/sync-state-store.port.js';

/** `SyncStateStore` in SQL: one statement per call, on the caller's manager. */
@Injectable()
export class SyncStateRepository implements SyncStateStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly cache: CalendarCacheRepository,
  ) {}

  async saveCursor(manager: EntityManager, selectedCalendarId: number, checkpoint: SyncCheckpoint): Promise<void> {
    await manager.query(
      `UPDATE "SelectedCalendar" SET "syncToken" = $2, "syncedAt" = now(), "syncErrorCount" = 0, "lastError" = NULL,
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

  async recordError(
    selectedCalendarId: number,
    message: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.query(
      `UPDATE "SelectedCalendar" SET "syncErrorAt" = now(), "syncErrorCount" = "syncErrorCount" + 1, "lastError" = $2, "updatedAt" = now()
        WHERE "id" = $1`,
      [selectedCalendarId, message.slice(0, 500)],
    );
  }

  async clearLastError(manager: EntityManager, selectedCalendarId: number): Promise<void> {
    await manager.query(`UPDATE "SelectedCalendar" SET "lastError" = NULL, "updatedAt" = now() WHERE "id" = $1`, [
      selectedCalendarId,
    ]);
  }
}
