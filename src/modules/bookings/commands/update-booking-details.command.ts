import { Command } from '@nestjs/cqrs';
import type { BookingChangeOutcome } from '../booking-change-outcome.js';
import type { ChangeSource } from '../entities/booking-history.entity.js';

export class UpdateBookingDetailsCommand extends Command<BookingChangeOutcome> {
  constructor(
    readonly bookingId: number,
    readonly details: { title?: string; description?: string | null; location?: string | null },
    readonly source: ChangeSource,
    readonly changeId?: string,
  ) {
    super();
  }
}
