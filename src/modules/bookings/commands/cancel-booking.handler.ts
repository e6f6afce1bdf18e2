import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { BookingEntity } from '../entities/booking.entity.js';
import { BookingChangeApplier } from '../booking-change.applier.js';
import { BookingCancelled } from '../events/booking.events.js';
import { CancelBookingCommand } from './cancel-booking.command.js';

@CommandHandler(CancelBookingCommand)
export class CancelBookingHandler implements ICommandHandler<CancelBookingCommand> {
  constructor(private readonly applier: BookingChangeApplier) {}

  execute({ bookingId, reason, source, changeId, idempotency }: CancelBookingCommand) {
    return this.applier.apply(bookingId, source, { changeId, idempotency }, (booking) => {
      if (booking.status === 'cancelled') return { action: null, reason: 'already cancelled' };
      return {
        action: 'cancelled',
        changes: { reason },
        apply: async (manager, b) => {
          b.status = 'cancelled';
          b.cancellationReason = reason;
          // Nothing left to accept or reject.
          b.pendingChange = null;
          await manager.update(
            BookingEntity,
            { id: b.id },
            { status: 'cancelled', cancellationReason: reason, pendingChange: null },
          );
        },
        updatesRow: true,
        event: () => new BookingCancelled(bookingId, source, reason),
      };
    });
  }
}
