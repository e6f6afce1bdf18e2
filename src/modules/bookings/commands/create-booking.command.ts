import { Command } from '@nestjs/cqrs';
import type { IdempotencyTicket } from '../../../common/idempotency/index.js';
import type { BookingView } from '../booking-view.js';

export class CreateBookingCommand extends Command<BookingView> {
  constructor(
    readonly input: {
      userId: number;
      title: string;
      description?: string | null;
      location?: string | null;
      startTime: Date;
      endTime: Date;
      attendees: Array<{ email: string; name?: string | null }>;
    },
    /** The request's `Idempotency-Key`, when it had one. */
    readonly idempotency?: IdempotencyTicket,
  ) {
    super();
  }
}
