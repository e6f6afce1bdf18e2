import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { BookingChangeApplier } from '../booking-change.applier.js';
import { BookingRescheduled } from '../events/booking.events.js';
import { RescheduleBookingCommand } from './reschedule-booking.command.js';

@CommandHandler(RescheduleBookingCommand)
export class RescheduleBookingHandler implements ICommandHandler<RescheduleBookingCommand> {
  constructor(private readonly applier: BookingChangeApplier) {}

  execute({ bookingId, startTime, endTime, source, changeId }: RescheduleBookingCommand) {
    return this.applier.apply(bookingId, source, changeId, (booking) => {
      const refused = BookingChangeApplier.refuseIfCancelled(booking, source);
      if (refused) return refused;
      if (booking.startTime.getTime() === startTime.getTime() && booking.endTime.getTime() === endTime.getTime()) {
        return { action: null, reason: 'already at these times' };
      }
      if (source !== 'api' && endTime.getTime() <= Date.now()) {
        return { action: null, reason: 'moved into the past' };
      }
      const from = { startTime: booking.startTime.toISOString(), endTime: booking.endTime.toISOString() };
      const to = { startTime: startTime.toISOString(), endTime: endTime.toISOString() };
      return {
        action: 'rescheduled',
        changes: { from, to },
        apply: async (manager, b) => {
          b.startTime = startTime;
          b.endTime = endTime;
          await manager.save(b);
        },
        event: () => new BookingRescheduled(bookingId, source, from, to),
      };
    });
  }
}
