import { Query } from '@nestjs/cqrs';

export interface CachedEventView {
  selectedCalendarId: number;
  externalCalendarId: string;
  externalId: string;
  start: string;
  end: string;
  isAllDay: boolean;
  status: string;
  etag: string | null;
  externalUpdatedAt: string | null;
  cachedAt: string;
}

/** What the cache holds for a user's calendars in a range: for checking why a slot shows busy. */
export class ListCachedEventsQuery extends Query<CachedEventView[]> {
  constructor(
    readonly userId: number,
    readonly start: Date,
    readonly end: Date,
  ) {
    super();
  }
}
