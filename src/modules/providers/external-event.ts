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

/**
 * Why a change listing says an event is gone (status `cancelled`):
 * - `deleted`: the provider says it was deleted (Google's cancelled entries);
 * - `left_view`: it still exists but no longer belongs to the listing;
 * - `unknown`: the provider does not say which (Graph's `@removed`): a booking is cancelled only
 *   after a get confirms the event no longer exists.
 */
export type RemovalReason = 'deleted' | 'left_view' | 'unknown';

export interface ExternalEvent {
  id: string;
  iCalUID: string | null;
  status: ExternalEventStatus;
  /** Set on cancelled entries of a change listing; null otherwise. */
  removal: RemovalReason | null;
  /** null only for cancelled entries, which may carry nothing but an id. */
  start: Date | null;
  end: Date | null;
  isAllDay: boolean;
  /** For all-day events, the calendar dates (end exclusive), independent of any time zone. */
  startDate: string | null;
  endDate: string | null;
  /** Blocks time: not transparent/free, not cancelled, not declined by the calendar's owner. */
  busy: boolean;
  title: string | null;
  description: string | null;
  location: string | null;
  attendees: ExternalAttendee[];
  organizerEmail: string | null;
  recurringEventId: string | null;
  /** A series master (the event that carries the recurrence), where the adapter can tell. */
  recurring?: boolean;
  /**
   * Set by `createEvent` when a retried create found the event an earlier attempt made, live and
   * as it is now (the host may have edited it since): returned untouched, for the caller to settle.
   */
  preexisting?: boolean;
  /**
   * Set by `createEvent`/`updateEvent` when the provider placed the times other than asked (Outlook
   * converting a zone with other rules) and writing them again failed: the event is returned as it
   * is, for the caller to record as it is and write the booking's times again later (the write
   * job's next attempt), never to take for a host's edit.
   */
  timesMisplaced?: boolean;
  etag: string | null;
  /** Provider's last-modified time, ISO 8601. */
  updated: string | null;
  sequence: number | null;
}

/**
 * An event known only by its id, gone for `removal`'s reason: what a change listing reports for a
 * removal (Graph's `@removed`), or a sync for a booking's event a get no longer finds.
 */
export function removedEvent(id: string, removal: RemovalReason): ExternalEvent {
  return {
    id,
    iCalUID: null,
    status: 'cancelled',
    removal,
    start: null,
    end: null,
    isAllDay: false,
    startDate: null,
    endDate: null,
    busy: false,
    title: null,
    description: null,
    location: null,
    attendees: [],
    organizerEmail: null,
    recurringEventId: null,
    etag: null,
    updated: null,
    sequence: null,
  };
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
  /**
   * The id of the booking's event the host deleted, when this create makes it again (stable until
   * it succeeds). An adapter whose idempotency keys outlive the events they made keys this create
   * apart from the first (Graph's transactionId); one that revives the deleted event ignores it.
   */
  replaces?: string | null;
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
  /** A fresh unique id, for providers that let the caller choose one (Google); others ignore it. */
  channelId: string;
  /** Where notifications go. */
  address: string;
  /** Where life-cycle notifications go (Graph); providers without them ignore it. */
  lifecycleAddress: string;
  ttlSeconds: number;
  /** The channel calsync holds for the calendar now, if any: never taken for an unrecorded one. */
  currentChannelId: string | null;
  /**
   * An earlier channel operation on the calendar may have opened a channel whose answer was lost:
   * providers that can list their channels (Graph) look for it before opening another.
   */
  recoverUnrecorded: boolean;
  /**
   * Of these channel ids, those calsync records for any calendar or is about to stop: never taken
   * over as unrecorded (another row's channel, one a removed calendar's stop job will delete).
   */
  recordedAmong?: (ids: readonly string[]) => Promise<ReadonlySet<string>>;
}

/**
 * A push channel (Google channel, Graph subscription) as an opaque handle. Stored in the seed's
 * `channel*` columns of SelectedCalendar by one mapper; only the adapter gives the fields meaning.
 */
export interface ChannelHandle {
  id: string;
  resourceId: string | null;
  resourceUri: string | null;
  kind: string | null;
  expiration: Date;
  /**
   * The fingerprint (`secretFingerprint`) of the secret the channel's notifications carry: set by
   * the provider when it opens a channel; null when it adopted one whose secret it cannot see;
   * absent when it extended an existing channel in place. Null or absent, the channel's stored
   * fingerprint stays when it is the same channel (the provider kept its secret), and a new
   * channel is stored without one (replaced once during a rotation, as one of unknown secret).
   */
  secretFingerprint?: string | null;
}

export interface BusyInterval {
  start: Date;
  end: Date;
}
