/** A provider event in calsync's own terms. Only `providers/<name>/` knows the provider's shape. */
export interface ExternalAttendee {
  email: string;
  name: string | null;
  responseStatus: string | null;
  organizer: boolean;
  /** Rooms and equipment: not guests. */
  resource: boolean;
}

export type ExternalEventStatus = 'confirmed' | 'tentative' | 'cancelled';

export interface ExternalEvent {
  id: string;
  iCalUID: string | null;
  status: ExternalEventStatus;
  /** null only for cancelled entries, which may carry nothing but an id. */
  start: Date | null;
  end: Date | null;
  isAllDay: boolean;
  /** For all-day events, the calendar dates (end exclusive), independent of any time zone. */
  startDate: string | null;
  endDate: string | null;
  /** Blocks time: not transparent/free, not cancelled. */
  busy: boolean;
  title: string | null;
  description: string | null;
  location: string | null;
  attendees: ExternalAttendee[];
  organizerEmail: string | null;
  recurringEventId: string | null;
  etag: string | null;
  /** Provider's last-modified time, ISO 8601. */
  updated: string | null;
  sequence: number | null;
}

export interface ExternalCalendar {
  id: string;
  name: string;
  primary: boolean;
  timeZone: string | null;
  accessRole: string | null;
}

export interface EventInput {
  title: string;
  description: string | null;
  location: string | null;
  start: Date;
  end: Date;
  attendees: Array<{ email: string; name: string | null }>;
  timeZone: string;
}

export interface CreateEventInput extends EventInput {
  /** Stable per booking: a retried create must not make a second event. */
  idempotencyKey: string;
  iCalUID: string;
}

export interface ChangePage {
  events: ExternalEvent[];
  nextPageToken: string | null;
  /** Present on the last page only: the cursor to store once every page is applied. */
  nextCursor: string | null;
}

export interface ListChangesInput {
  calendarId: string;
  /** null: full sync over `window`. */
  cursor: string | null;
  pageToken: string | null;
  window: { start: Date; end: Date };
}

export interface WatchInput {
  channelId: string;
  address: string;
  token: string;
  ttlSeconds: number;
  /** Graph sends lifecycle notifications here. */
  lifecycleAddress?: string;
}

export interface WatchChannel {
  id: string;
  resourceId: string | null;
  resourceUri: string | null;
  kind: string;
  expiration: Date;
}

export interface BusyInterval {
  start: Date;
  end: Date;
}
