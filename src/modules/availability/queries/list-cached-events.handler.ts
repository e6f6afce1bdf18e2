import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { type CachedEventView, ListCachedEventsQuery } from './list-cached-events.query.js';

const LIMIT = 5000;

@QueryHandler(ListCachedEventsQuery)
export class ListCachedEventsHandler implements IQueryHandler<ListCachedEventsQuery> {
  constructor(private readonly dataSource: DataSource) {}

  async execute({ userId, start, end }: ListCachedEventsQuery): Promise<CachedEventView[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT e."selectedCalendarId", sc."externalId" AS "externalCalendarId", e."externalId", e."start", e."end",
              e."isAllDay", e."status", e."etag", e."externalUpdatedAt", e."cachedAt"
         FROM "CalendarCacheEvent" e JOIN "SelectedCalendar" sc ON sc."id" = e."selectedCalendarId"
        WHERE sc."userId" = $1 AND e."start" < $3 AND e."end" > $2
        ORDER BY e."start", e."externalId"
        LIMIT ${LIMIT}`,
      [userId, start, end],
    );
    const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : null);
    return rows.map((r) => ({
      selectedCalendarId: r.selectedCalendarId as number,
      externalCalendarId: r.externalCalendarId as string,
      externalId: r.externalId as string,
      start: iso(r.start) as string,
      end: iso(r.end) as string,
      isAllDay: r.isAllDay as boolean,
      status: r.status as string,
      etag: (r.etag as string | null) ?? null,
      externalUpdatedAt: iso(r.externalUpdatedAt),
      cachedAt: iso(r.cachedAt) as string,
    }));
  }
}
