import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { DataSource, type EntityManager } from 'typeorm';
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

    if (!reference.credentialId) return this.skip(bookingId, 'the calendar credential was removed');
    const { credential, auth } = await this.credentials.open(reference.credentialId);
    if (credential.status !== 'active') return this.skip(bookingId, 'credential is no longer valid');
    const provider = this.providers.get(reference.provider);
    // The reference stays locked from reading its baseline to saving the new one: a sync reading
    // our own echo meanwhile waits here (the recorder locks the same row) and then finds the echo
    // equal to the new baseline, instead of taking it for the host's change against the old one.
    await this.dataSource.transaction(async (tx) => {
      const locked = await tx.findOne(BookingReferenceEntity, {
        where: { id: reference.id },
        lock: { mode: 'pessimistic_write' },
      });
      if (!locked || locked.deletedAt) return;
      if (locked.baseline && matches(locked.baseline, input)) return;
      const at = { calendarId: locked.externalCalendarId, eventId: locked.externalEventId };
      let event;
      try {
        // Based on the version calsync last saw: an edit the host made since is never silently overwritten.
        event = await provider.updateEvent(auth, at.calendarId, at.eventId, input, { ifMatch: locked.baseline?.etag ?? null });
      } catch (error) {
        if (isProviderError(error, 'not_found') || isProviderError(error, 'gone')) {
          // Deleted in the calendar meanwhile; the sync turns that into a cancellation.
          return this.skip(bookingId, 'the event no longer exists in the calendar');
        }
        if (!isProviderError(error, 'precondition_failed')) throw error;
        const current = await provider.getEvent(auth, at.calendarId, at.eventId);
        if (!current || current.status === 'cancelled') return this.skip(bookingId, 'the event no longer exists in the calendar');
        if (await this.hostEditIsLater(tx, bookingId, current.updated)) {
          // The later intent wins: the host's edit stays, and the sync (the edit's own push, or the
          // safety net) brings the booking in line with it, in the history after the API change.
          this.logger.log(`Booking ${bookingId}: the host edited its event after the API change; the host's edit wins`);
          return;
        }
        event = await provider.updateEvent(auth, at.calendarId, at.eventId, input, { ifMatch: current.etag });
      }
      await tx.update(BookingReferenceEntity, { id: locked.id }, { baseline: baselineOf(event) });
    });
  }

  /** Whether the event's last change in the calendar came after the booking's last change through the API. */
  private async hostEditIsLater(tx: EntityManager, bookingId: number, eventUpdated: string | null): Promise<boolean> {
    if (!eventUpdated) return false;
    const rows: Array<{ at: Date | null }> = await tx.query(
      `SELECT max("at") AS at FROM "BookingHistory" WHERE "bookingId" = $1 AND "source" = 'api'`,
      [bookingId],
    );
    const apiAt = rows[0]?.at ? new Date(rows[0].at).getTime() : 0;
    return Date.parse(eventUpdated) > apiAt;
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
