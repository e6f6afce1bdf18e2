import { Command } from '@nestjs/cqrs';
import type { BookingChangeOutcome } from '../booking-change-outcome.js';

/**
 * The host app accepts a booking's pending change (a conflicting calendar reschedule flagged by
 * `conflictPolicy` flag): the booking takes its time (history `rescheduled`, with the calendar as
 * source: the host made the change there). The event already shows that time. Throws
 * `BookingNotFoundError`, `BookingCancelledError`, `NoPendingChangeError`, or
 * `PendingChangeMovedError` when the host moved the event again and that is still being evaluated.
 */
export class AcceptPendingChangeCommand extends Command<BookingChangeOutcome> {
  constructor(readonly bookingId: number) {
    super();
  }
}

/**
 * The host app rejects a booking's pending change: the booking keeps its time, the event is moved
 * back (the write job), history `reverted`. Throws as `AcceptPendingChangeCommand`.
 */
export class RejectPendingChangeCommand extends Command<BookingChangeOutcome> {
  constructor(readonly bookingId: number) {
    super();
  }
}
