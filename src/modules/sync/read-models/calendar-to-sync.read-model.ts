/**
 * Read model: the one SelectedCalendar row a sync run works from, by id, every column.
 * - Owner: sync (it owns the cursor, error and cache columns; the identity rides along, read-only).
 * - Read by: sync (`SyncCalendarService`, at the start of every run: once per push, so one row by
 *   primary key in one plain statement, without the ORM's query building).
 * - Reads: SelectedCalendar, every column (connections: identity and `busySource`; sync: cursor,
 *   error and cache columns; subscriptions: `channel*`, unused here). Typed as connections'
 *   `SelectedCalendarRecord`. Changes are reviewed by sync and connections.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { SelectedCalendarRecord } from '../../connections/index.js';

@Injectable()
export class CalendarToSyncReadModel {
  constructor(private readonly dataSource: DataSource) {}

  /** The calendar's row, or null when it was removed. */
  async byId(selectedCalendarId: number): Promise<SelectedCalendarRecord | null> {
    const rows: SelectedCalendarRecord[] = await this.dataSource.query(`SELECT * FROM "SelectedCalendar" WHERE "id" = $1`, [
      selectedCalendarId,
    ]);
    return rows[0] ?? null;
  }
}
