import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { type FollowedCalendar, ListFollowedCalendarsQuery } from './list-followed-calendars.query.js';

@QueryHandler(ListFollowedCalendarsQuery)
export class ListFollowedCalendarsHandler implements IQueryHandler<ListFollowedCalendarsQuery> {
  constructor(private readonly dataSource: DataSource) {}

  execute({ filter }: ListFollowedCalendarsQuery): Promise<FollowedCalendar[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.id !== undefined) {
      params.push(filter.id);
      conditions.push(`sc."id" = $${params.length}`);
    }
    if (filter.activeCredentialsOnly) conditions.push(`c."status" = 'active'`);
    if (filter.afterId !== undefined) {
      params.push(filter.afterId);
      conditions.push(`sc."id" > $${params.length}`);
    }
    params.push(filter.limit ?? null);
    return this.dataSource.query(
      `SELECT sc.*, c."status" AS "credentialStatus",
              EXISTS (SELECT 1 FROM "DestinationCalendar" d WHERE d."selectedCalendarId" = sc."id") AS "isDestination"
         FROM "SelectedCalendar" sc JOIN "Credential" c ON c."id" = sc."credentialId"
        ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY sc."id"
        LIMIT $${params.length}`,
      params,
    );
  }
}
