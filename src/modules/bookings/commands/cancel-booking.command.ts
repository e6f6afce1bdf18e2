import { Command } from '@nestjs/cqrs';
import type { IdempotencyTicket } from '../../../common/idempotency/index.js';
import type { BookingChangeOutcome } from '../booking-change-outcome.js';
import type { ChangeSource } from '../entities/booking-history.entity.js';

export class CancelBookingCommand extends Command<BookingChangeOutcome> {
  constructor(
    readonly bookingId: number,
    readonly reason: string | null,
    readonly source: ChangeSource,
    readonly changeId?: string,
    /** An API request's `Idempotency-Key`, when it had one. */
    readonly idempotency?: IdempotencyTicket,
  ) {
    super();
  }
}
