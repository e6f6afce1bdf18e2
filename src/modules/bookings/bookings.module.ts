import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module.js';
import { BookingChangeApplier } from './booking-change.applier.js';
import { BookingsController } from './bookings.controller.js';
import { BookingsRepository } from './bookings.repository.js';
import { CancelBookingHandler } from './commands/cancel-booking.handler.js';
import { CreateBookingHandler } from './commands/create-booking.handler.js';
import { RescheduleBookingHandler } from './commands/reschedule-booking.handler.js';
import { UpdateBookingAttendeesHandler } from './commands/update-booking-attendees.handler.js';
import { UpdateBookingDetailsHandler } from './commands/update-booking-details.handler.js';
import { ExternalChangeRecorder } from './external-change.recorder.js';
import { WriteBookingJob } from './jobs/write-booking.job.js';
import { BookingSyncSagas } from './sagas/booking-sync.sagas.js';
import { GetBookingHandler, ListBookingsHandler } from './queries/get-booking.handler.js';

@Module({
  imports: [ConnectionsModule],
  controllers: [BookingsController],
  providers: [
    BookingsRepository,
    BookingChangeApplier,
    CreateBookingHandler,
    RescheduleBookingHandler,
    CancelBookingHandler,
    UpdateBookingDetailsHandler,
    UpdateBookingAttendeesHandler,
    GetBookingHandler,
    ListBookingsHandler,
    WriteBookingJob,
    ExternalChangeRecorder,
    BookingSyncSagas,
  ],
  exports: [BookingsRepository, ExternalChangeRecorder],
})
export class BookingsModule {}
