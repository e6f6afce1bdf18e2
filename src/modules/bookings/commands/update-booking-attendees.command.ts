import { Command } from '@nestjs/cqrs';
import type { ChangeSource } from '../entities/booking-history.entity.js';
import type { BookingChangeOutcome } from './reschedule-booking.command.js';

export class UpdateBookingAttendeesCommand extends Command<BookingChangeOutcome> {
  constructor(
    readonly bookingId: number,
    readonly attendees: Array<{ email: string; name: string | null }>,
    readonly source: ChangeSource,
    readonly changeId?: string,
  ) {
    super();
  }
}
