import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { BookingChangeApplier } from '../booking-change.applier.js';
import { AttendeeEntity } from '../entities/attendee.entity.js';
import { BookingUpdated } from '../events/booking.events.js';
import { UpdateBookingAttendeesCommand } from './update-booking-attendees.command.js';

@CommandHandler(UpdateBookingAttendeesCommand)
export class UpdateBookingAttendeesHandler implements ICommandHandler<UpdateBookingAttendeesCommand> {
  constructor(private readonly applier: BookingChangeApplier) {}

  execute({ bookingId, attendees, source, changeId }: UpdateBookingAttendeesCommand) {
    const wanted = new Map(attendees.map((a) => [a.email.toLowerCase(), a]));
    return this.applier.apply(bookingId, source, { changeId }, async (booking, manager) => {
      const refused = BookingChangeApplier.refuseIfCancelled(booking, source);
      if (refused) return refused;
      const current = await manager.findBy(AttendeeEntity, { bookingId });
      const have = new Set(current.map((a) => a.email.toLowerCase()));
      const added = [...wanted.keys()].filter((email) => !have.has(email));
      const removed = current.filter((a) => !wanted.has(a.email.toLowerCase()));
      if (added.length === 0 && removed.length === 0) return { action: null, reason: 'attendees unchanged' };
      const changes = { attendees: { added, removed: removed.map((a) => a.email) } };
      return {
        action: 'updated',
        changes,
        apply: async (tx) => {
          if (removed.length)
            await tx.delete(
              AttendeeEntity,
              removed.map((a) => a.id),
            );
          if (added.length) {
            await tx.insert(
              AttendeeEntity,
              added.map((email) => ({ bookingId, email, name: wanted.get(email)?.name ?? null })),
            );
          }
        },
        event: () => new BookingUpdated(bookingId, source, changes),
      };
    });
  }
}
