import { Command } from '@nestjs/cqrs';
import type { IdempotencyTicket } from '../../../common/idempotency/index.js';
import type { BookingChangeOutcome } from '../booking-change-outcome.js';
import type { ChangeSource } from '../entities/booking-history.entity.js';

export class RescheduleBookingCommand extends Command<BookingChangeOutcome> {
  constructor(
    readonly bookingId: number,
    readonly startTime: Date,
    readonly endTime: Date,
    readonly source: ChangeSource,
    /** The outbox row this applies, marked applied in the same transaction. */
    readonly changeId?: string,
    /** An API request's `Idempotency-Key`, when it had one. */
    readonly idempotency?: IdempotencyTicket,
    /**
     * A calendar change's calendar owner, most likely the booking's host: the conflict check starts
     * reading that user's calendars beside the booking instead of after it (and reads again if the
     * booking turns out to be someone else's).
     */
    readonly hostHint?: number,
  ) {
    super();
  }
}
