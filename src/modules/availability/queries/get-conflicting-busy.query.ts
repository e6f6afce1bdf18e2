import { Query } from '@nestjs/cqrs';

/** A calendar event, by where it lives. */
export interface CalendarEventKey {
  credentialId: number;
  externalCalendarId: string;
  externalEventId: string;
}

export interface ConflictingBusy {
  /** Busy time of the host's calendars within [start, end), merged (no event details). */
  busy: Array<{ start: string; end: string }>;
  /**
   * null when every calendar was read; otherwise why some could not be (a provider failed or did
   * not answer in time). `busy` is then what could be read: the caller decides what that means.
   */
  unchecked: string | null;
}

/**
 * Busy time of a user's selected calendars that overlaps [start, end) strictly (an event ending at
 * `start` or starting at `end` does not), leaving out the events `exclude` names: a booking's own
 * event and other bookings' events, which are judged by the bookings themselves. From the cache
 * where it is trusted and covers the time (as busy-times decides), live otherwise. Never fails:
 * what could not be read is named in `unchecked`.
 */
export class GetConflictingBusyQuery extends Query<ConflictingBusy> {
  constructor(
    readonly userId: number,
    readonly start: Date,
    readonly end: Date,
    /** Awaited only once the calendars are known (its reader may run beside this query's own). */
    readonly exclude: CalendarEventKey[] | Promise<CalendarEventKey[]>,
  ) {
    super();
  }
}
