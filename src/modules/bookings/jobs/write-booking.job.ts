import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { GetUserQuery } from '../../accounts/index.js';
import { ConnectionsService, CredentialAuthFactory } from '../../connections/index.js';
import { CalendarProviders } from '../../providers/calendar-provider.port.js';
import type { EventInput } from '../../providers/external-event.js';
import { isProviderError } from '../../providers/provider.errors.js';
import { WRITE_BOOKING_JOB } from '../bookings.jobs.js';
import { baselineOf } from '../domain/event-baseline.js';
import { AttendeeEntity } from '../entities/attendee.entity.js';
import { BookingReferenceEntity } from '../entities/booking-reference.entity.js';
import { BookingEntity } from '../entities/booking.entity.js';

/**
 * Runs `WRITE_BOOKING_JOB`: makes the host's calendar match the booking as it is now (not as it was when the job was
 * queued), so retries, duplicates and out-of-order runs all converge. Runs on the durable queue
 * and is retried with backoff while the provider is down.
 */
@Injectable()
export class WriteBookingJob implements OnModuleInit {
  private readonly logger = new Logger('WriteBookingJob');

  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly dataSource: DataSource,
    private readonly queries: QueryBus,
    private readonly connections: ConnectionsService,
    private readonly credentials: CredentialAuthFactory,
    private readonly providers: CalendarProviders,
  ) {}

  onModuleInit(): void {
    this.registry.handle(WRITE_BOOKING_JOB, ({ bookingId }) => this.run(bookingId));
  }

  async run(bookingId: number): Promise<void> {
    const manager = this.dataSource.manager;
    const booking = await manager.findOneBy(BookingEntity, { id: bookingId });
    if (!booking) return;
    const reference = await manager.findOneBy(BookingReferenceEntity, { bookingId });

    if (booking.status === 'cancelled') {
      if (!reference || reference.deletedAt || !reference.credentialId) return;
      const { credential, auth } = await this.credentials.open(reference.credentialId);
      if (credential.status !== 'active') return this.skip(bookingId, 'credential is no longer valid');
      await this.providers.get(reference.provider).deleteEvent(auth, reference.externalCalendarId, reference.externalEventId);
      await manager.update(BookingReferenceEntity, { id: reference.id }, { deletedAt: new Date() });
      return;
    }

    const input = await this.desiredEvent(booking);
    if (!reference || reference.deletedAt) {
      const destination = await this.connections.getDestinationCalendar(booking.userId);
      if (!destination) return this.skip(bookingId, 'the host has no destination calendar');
      if (destination.credential.status !== 'active') return this.skip(bookingId, 'credential is no longer valid');
      const provider = this.providers.get(destination.credential.provider);
      const event = await provider.createEvent(
        this.credentials.authFor(destination.credential),
        destination.destination.externalId,
        { ...input, idempotencyKey: booking.uid, iCalUID: `${booking.uid}@calsync` },
      );
      await manager.upsert(
        BookingReferenceEntity,
        {
          bookingId,
          provider: provider.name,
          credentialId: destination.credential.id,
          externalCalendarId: destination.destination.externalId,
          externalEventId: event.id,
          iCalUID: event.iCalUID,
          baseline: baselineOf(event),
          deletedAt: null,
        },
        ['bookingId'],
      );
      return;
    }

    const baseline = reference.baseline;
    if (baseline && matches(baseline, input)) return;
    if (!reference.credentialId) return this.skip(bookingId, 'the calendar credential was removed');
    const { credential, auth } = await this.credentials.open(reference.credentialId);
    if (credential.status !== 'active') return this.skip(bookingId, 'credential is no longer valid');
    try {
      const event = await this.providers
        .get(reference.provider)
        .updateEvent(auth, reference.externalCalendarId, reference.externalEventId, input);
      await manager.update(BookingReferenceEntity, { id: reference.id }, { baseline: baselineOf(event) });
    } catch (error) {
      if (isProviderError(error, 'not_found') || isProviderError(error, 'gone')) {
        // Deleted in the calendar meanwhile; the sync turns that into a cancellation.
        return this.skip(bookingId, 'the event no longer exists in the calendar');
      }
      throw error;
    }
  }

  private async desiredEvent(booking: BookingEntity): Promise<EventInput> {
    const [user, attendees] = await Promise.all([
      this.queries.execute(new GetUserQuery(booking.userId)),
      this.dataSource.manager.find(AttendeeEntity, { where: { bookingId: booking.id }, order: { id: 'ASC' } }),
    ]);
    return {
      title: booking.title,
      description: booking.description,
      location: booking.location,
      start: booking.startTime,
      end: booking.endTime,
      attendees: attendees.map((a) => ({ email: a.email, name: a.name })),
      timeZone: user.timeZone,
    };
  }

  private skip(bookingId: number, why: string): void {
    this.logger.warn(`Booking ${bookingId} not written to the calendar: ${why}`);
  }
}

function matches(baseline: NonNullable<BookingReferenceEntity['baseline']>, input: EventInput): boolean {
  const emails = (list: Array<{ email: string }>) =>
    list
      .map((a) => a.email.toLowerCase())
      .sort()
      .join('\n');
  return (
    baseline.start === input.start.toISOString() &&
    baseline.end === input.end.toISOString() &&
    baseline.title === input.title &&
    (baseline.description ?? null) === (input.description || null) &&
    (baseline.location ?? null) === (input.location || null) &&
    emails(baseline.attendees) === emails(input.attendees)
  );
}
