import { Command } from '@nestjs/cqrs';
import type { ChangeSource } from '../entities/booking-history.entity.js';

export interface BookingChangeOutcome {
  bookingId: number;
  /** false when the booking already was in the asked state, or the change was refused by a rule. */
  changed: boolean;
  reason?: string;
}

export class RescheduleBookingCommand extends Command<BookingChangeOutcome> {
  constructor(
    readonly bookingId: number,
    readonly startTime: Date,
    readonly endTime: Date,
    readonly source: ChangeSource,
    /** The outbox row this applies, marked applied in the same transaction. */
    readonly changeId?: string,
  ) {
    super();
  }
}
