import { Query } from '@nestjs/cqrs';

/** A provider calendar, as reached through one credential. */
export interface CalendarRef {
  credentialId: number;
  externalCalendarId: string;
}

/**
 * Read model: of the given calendars, those holding the event of an upcoming booking (accepted,
 * not yet ended, its event not deleted), in one round trip.
 * - Owner: bookings (it owns Booking and BookingReference). Answered by
 *   `CalendarsWithUpcomingBookingsHandler`.
 * - Read by: subscriptions (`SubscribeCalendarsTask`: a calendar holding a sync-flagged host's
 *   bookings needs a channel, even when it is not the destination calendar any more).
 * - Reads: BookingReference (bookings) `bookingId`, `credentialId`, `externalCalendarId`,
 *   `deletedAt`; Booking (bookings) `id`, `status`, `endTime`.
 */
export class CalendarsWithUpcomingBookingsQuery extends Query<CalendarRef[]> {
  constructor(readonly calendars: CalendarRef[]) {
    super();
  }
}
