import { Command } from '@nestjs/cqrs';
import type { BookingChangeOutcome } from '../booking-change-outcome.js';
import type { ChangeSource } from '../entities/booking-history.entity.js';

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
