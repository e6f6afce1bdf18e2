import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/index.js';
import { BookingChangeApplier } from './booking-change.applier.js';
import { BookingsController } from './bookings.controller.js';
import { BookingsRepository } from './bookings.repository.js';
import { CancelBookingHandler } from './commands/cancel-booking.handler.js';
import { AcceptPendingChangeHandler, RejectPendingChangeHandler } from './commands/pending-change.handlers.js';
import { CreateBookingHandler } from './commands/create-booking.handler.js';
import { RescheduleBookingHandler } from './commands/reschedule-booking.handler.js';
import { UpdateBookingAttendeesHandler } from './commands/update-booking-attendees.handler.js';
import { UpdateBookingDetailsHandler } from './commands/update-booking-details.handler.js';
import { ConflictDetector } from './conflicts/conflict-detector.js';
import { ExternalChangeRecorder } from './external-change.recorder.js';
import { HeldChangesAdminController } from './held-changes/held-changes-admin.controller.js';
import { ConfirmHeldChangesHandler, DiscardHeldChangesHandler } from './held-changes/held-changes.handlers.js';
import { CalendarsWithHeldChangesHandler, ListHeldChangesHandler } from './held-changes/held-changes.queries.handler.js';
import { HeldChangesRepository } from './held-changes/held-changes.repository.js';
import { WriteBookingJob } from './jobs/write-booking.job.js';
import { BookingEventLocator } from './ports/booking-event-locator.port.js';
import { bookingEventLocatorProvider } from './ports/ical-uid-booking-event.locator.js';
import { CalendarsWithUpcomingBookingsHandler } from './queries/calendars-with-upcoming-bookings.handler.js';
import { UnfollowedBookingCalendarsHandler } from './queries/unfollowed-booking-calendars.handler.js';
import { GetBookingHandler } from './queries/get-booking.handler.js';
import { ListBookingsHandler } from './queries/list-bookings.handler.js';
import { BookingSyncSagas } from './sagas/booking-sync.sagas.js';

@Module({
  imports: [ConnectionsModule],
  controllers: [BookingsController, HeldChangesAdminController],
  providers: [
    BookingsRepository,
    BookingChangeApplier,
    CreateBookingHandler,
    RescheduleBookingHandler,
    CancelBookingHandler,
    UpdateBookingDetailsHandler,
    UpdateBookingAttendeesHandler,
    AcceptPendingChangeHandler,
    RejectPendingChangeHandler,
    ConflictDetector,
    GetBookingHandler,
    ListBookingsHandler,
    CalendarsWithUpcomingBookingsHandler,
    UnfollowedBookingCalendarsHandler,
    WriteBookingJob,
    ExternalChangeRecorder,
    HeldChangesRepository,
    ConfirmHeldChangesHandler,
    DiscardHeldChangesHandler,
    ListHeldChangesHandler,
    CalendarsWithHeldChangesHandler,
    BookingSyncSagas,
    bookingEventLocatorProvider,
  ],
  exports: [ExternalChangeRecorder, BookingEventLocator],
})
export class BookingsModule {}
