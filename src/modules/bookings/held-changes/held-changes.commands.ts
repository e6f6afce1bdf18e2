import { Command } from '@nestjs/cqrs';
import type { HeldChangesView } from './held-changes-view.js';

/**
 * A person confirms a hold: each held cancellation whose event is still gone (checked with a get)
 * is applied through the normal command path (an outbox row, `CancelBookingCommand` with the
 * provider as source), each once; one whose event exists again is kept. Throws
 * `HeldChangesNotFoundError`, or `HeldChangesResolvedError` when the hold was already resolved.
 */
export class ConfirmHeldChangesCommand extends Command<HeldChangesView> {
  constructor(readonly holdId: number) {
    super();
  }
}

/**
 * A person discards a hold: nothing is cancelled, the bookings stay, and their events are written
 * back to the calendar (the durable write-booking job). Throws as `ConfirmHeldChangesCommand`.
 */
export class DiscardHeldChangesCommand extends Command<HeldChangesView> {
  constructor(readonly holdId: number) {
    super();
  }
}
