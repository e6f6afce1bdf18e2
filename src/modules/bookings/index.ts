/**
 * The bookings module's public surface (the booking aggregate, its history and its calendar
 * references): all another module may import from it, besides `bookings.module.ts` and the ports
 * in `ports/`. Everything else in this folder is internal; `npm run lint` refuses imports of it
 * from other modules. Tables: "Booking", "Attendee", "BookingReference", "BookingHistory",
 * "ExternalEventChange" (the outbox of changes seen in calendars), "SyncHold" and "SyncHoldChange"
 * (cancellations a sync run held for a person: `SYNC_MASS_CANCEL_THRESHOLD`).
 */
export type { BookingChangeOutcome } from './booking-change-outcome.js';
export type { BookingView } from './booking-view.js';
export {
  BookingCancelledError,
  BookingNotFoundError,
  DuplicateAttendeeError,
  HeldChangesNotFoundError,
  HeldChangesResolvedError,
  NoDestinationCalendarError,
  NoPendingChangeError,
  PendingChangeMovedError,
} from './bookings.errors.js';
export { BookingsModule } from './bookings.module.js';
export { CancelBookingCommand } from './commands/cancel-booking.command.js';
export { CreateBookingCommand } from './commands/create-booking.command.js';
export { AcceptPendingChangeCommand, RejectPendingChangeCommand } from './commands/pending-change.commands.js';
export { RescheduleBookingCommand } from './commands/reschedule-booking.command.js';
export { UpdateBookingAttendeesCommand } from './commands/update-booking-attendees.command.js';
export { UpdateBookingDetailsCommand } from './commands/update-booking-details.command.js';
export type { ChangeSource, HistoryAction } from './entities/booking-history.entity.js';
export { BookingCancelled, BookingCreated, BookingRescheduled, BookingUpdated } from './events/booking.events.js';
export {
  EventAttendeesChanged,
  EventDeleted,
  EventDetailsChanged,
  EventRescheduled,
  type ExternalEventDomainEvent,
} from './events/external-event.events.js';
export {
  type DeletionBrake,
  ExternalChangeRecorder,
  type MovedEvent,
  type RecordedChanges,
  type SyncedCalendar,
} from './external-change.recorder.js';
export { ConfirmHeldChangesCommand, DiscardHeldChangesCommand } from './held-changes/held-changes.commands.js';
export {
  type CalendarHeldChanges,
  CalendarsWithHeldChangesQuery,
  ListHeldChangesQuery,
} from './held-changes/held-changes.queries.js';
export type { HeldChangesStatus, HeldChangesView } from './held-changes/held-changes-view.js';
export { type CalendarRef, CalendarsWithUpcomingBookingsQuery } from './queries/calendars-with-upcoming-bookings.query.js';
export { type BookingCalendarRef, UnfollowedBookingCalendarsQuery } from './queries/unfollowed-booking-calendars.query.js';
export { GetBookingQuery } from './queries/get-booking.query.js';
export { ListBookingsQuery } from './queries/list-bookings.query.js';
