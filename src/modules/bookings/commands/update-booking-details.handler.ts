import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { BookingEntity } from '../entities/booking.entity.js';
import { BookingChangeApplier } from '../booking-change.applier.js';
import { BookingUpdated } from '../events/booking.events.js';
import { UpdateBookingDetailsCommand } from './update-booking-details.command.js';

@CommandHandler(UpdateBookingDetailsCommand)
export class UpdateBookingDetailsHandler implements ICommandHandler<UpdateBookingDetailsCommand> {
  constructor(private readonly applier: BookingChangeApplier) {}

  execute({ bookingId, details, source, changeId }: UpdateBookingDetailsCommand) {
    return this.applier.apply(bookingId, source, { changeId }, (booking, _manager, scope) => {
      const refused = BookingChangeApplier.refuseIfCancelled(booking, source);
      if (refused) return refused;
      const changes: Record<string, { from: string | null; to: string | null }> = {};
      for (const field of ['title', 'description', 'location'] as const) {
        const next = details[field];
        // A field a later change also made is that change's (see BookingChangeApplier.claimChange).
        if (next === undefined || (scope?.fields && !scope.fields.includes(field))) continue;
        const normalised = field === 'title' ? (next ?? booking.title) : next || null;
        if ((booking[field] ?? null) !== normalised) changes[field] = { from: booking[field] ?? null, to: normalised };
      }
      if (Object.keys(changes).length === 0) return { action: null, reason: 'details unchanged' };
      return {
        action: 'updated',
        changes,
        apply: async (manager, b) => {
          if (changes.title) b.title = changes.title.to ?? b.title;
          if (changes.description) b.description = changes.description.to;
          if (changes.location) b.location = changes.location.to;
          await manager.update(BookingEntity, { id: b.id }, { title: b.title, description: b.description, location: b.location });
        },
        updatesRow: true,
        event: () => new BookingUpdated(bookingId, source, changes),
      };
    });
  }
}
