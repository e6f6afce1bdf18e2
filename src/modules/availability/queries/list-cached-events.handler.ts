import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { CachedEventsReadModel } from '../../sync/read-models/cached-events.read-model.js';
import { type CachedEventView, ListCachedEventsQuery } from './list-cached-events.query.js';

const LIMIT = 5000;

/** Reads through the sync module's `CachedEventsReadModel` (it owns the cache); answers ISO instants. */
@QueryHandler(ListCachedEventsQuery)
export class ListCachedEventsHandler implements IQueryHandler<ListCachedEventsQuery> {
  constructor(private readonly cachedEvents: CachedEventsReadModel) {}

  async execute({ userId, start, end }: ListCachedEventsQuery): Promise<CachedEventView[]> {
    const records = await this.cachedEvents.forUser(userId, start, end, LIMIT);
    return records.map((r) => ({
      selectedCalendarId: r.selectedCalendarId,
      externalCalendarId: r.externalCalendarId,
      externalId: r.externalId,
      start: r.start.toISOString(),
      end: r.end.toISOString(),
      isAllDay: r.isAllDay,
      status: r.status,
      etag: r.etag ?? null,
      externalUpdatedAt: r.externalUpdatedAt ? r.externalUpdatedAt.toISOString() : null,
      cachedAt: r.cachedAt.toISOString(),
    }));
  }
}
