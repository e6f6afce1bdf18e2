import { CommandHandler, EventBus, type ICommandHandler, QueryBus } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { IdempotencyStore } from '../../../common/idempotency/index.js';
import { GetUserQuery } from '../../accounts/index.js';
import { ConnectionsService } from '../../connections/index.js';
import type { BookingView } from '../booking-view.js';
import { DuplicateAttendeeError, NoDestinationCalendarError } from '../bookings.errors.js';
import { BookingsRepository } from '../bookings.repository.js';
import { AttendeeEntity } from '../entities/attendee.entity.js';
import { BookingEntity } from '../entities/booking.entity.js';
import { BookingCreated } from '../events/booking.events.js';
import { CreateBookingCommand } from './create-booking.command.js';

@CommandHandler(CreateBookingCommand)
export class CreateBookingHandler implements ICommandHandler<CreateBookingCommand> {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queries: QueryBus,
    private readonly connections: ConnectionsService,
    private readonly bookings: BookingsRepository,
    private readonly eventBus: EventBus,
    private readonly idempotency: IdempotencyStore,
  ) {}

  async execute({ input, idempotency }: CreateBookingCommand): Promise<BookingView> {
    await this.queries.execute(new GetUserQuery(input.userId));
    const destination = await this.connections.getDestinationCalendar(input.userId);
    if (!destination) throw new NoDestinationCalendarError(input.userId);
    const emails = input.attendees.map((a) => a.email.trim().toLowerCase());
    if (new Set(emails).size !== emails.length) throw new DuplicateAttendeeError();

    // With an Idempotency-Key, the key is claimed and the answer stored in this transaction.
    const view = await this.dataSource.transaction((manager) =>
      this.idempotency.within(
        manager,
        idempotency,
        (created) => created,
        async () => {
          const booking = await manager.save(
            manager.create(BookingEntity, {
              uid: randomUUID(),
              userId: input.userId,
              title: input.title,
              description: input.description ?? null,
              location: input.location ?? null,
              startTime: input.startTime,
              endTime: input.endTime,
              status: 'accepted',
              cancellationReason: null,
              conflict: false,
              pendingChange: null,
            }),
          );
          if (input.attendees.length > 0) {
            await manager.insert(
              AttendeeEntity,
              input.attendees.map((a, i) => ({ bookingId: booking.id, email: emails[i], name: a.name ?? null })),
            );
          }
          await this.bookings.addHistory(manager, booking.id, 'created', 'api', {
            startTime: booking.startTime.toISOString(),
            endTime: booking.endTime.toISOString(),
          });
          await this.bookings.enqueueCalendarWrite(manager, booking.id);
          return (await this.bookings.view(booking.id, manager)) as BookingView;
        },
      ),
    );
    this.eventBus.publish(new BookingCreated(view.id, view.userId));
    return view;
  }
}
