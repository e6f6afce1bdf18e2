import { Query } from '@nestjs/cqrs';

/** A calendar holding an upcoming booking's event, and the booking's host. */
export interface BookingCalendarRef {
  userId: number;
  credentialId: number;
  externalCalendarId: string;
}

/**
 * Read model: calendars holding the event of an upcoming booking (accepted, not yet ended, its
 * event not deleted) that calsync does not follow (no SelectedCalendar row): the host moved the
 * event there and the row that should follow it was never made (the process died after the move
 * was recorded) or was removed (the host unselected the calendar). The safety-net sweep follows
 * them again, so the booking's later moves and deletions are seen.
 * - Owner: bookings (it owns Booking and BookingReference). Answered by
 *   `UnfollowedBookingCalendarsHandler`.
 * - Read by: subscriptions (`ResyncCalendarsTask`).
 * - Reads: BookingReference (bookings) `bookingId`, `credentialId`, `externalCalendarId`,
 *   `deletedAt`; Booking (bookings) `id`, `userId`, `status`, `endTime`; SelectedCalendar
 *   (connections) `credentialId`, `externalId`, only whether a row exists.
 */
export class UnfollowedBookingCalendarsQuery extends Query<BookingCalendarRef[]> {}
