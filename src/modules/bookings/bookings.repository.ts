import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import type { BookingView } from './booking-view.js';
import { WRITE_BOOKING_JOB, writeBookingJobOptions } from './bookings.jobs.js';
import { AttendeeEntity } from './entities/attendee.entity.js';
import { BookingHistoryEntity, type ChangeSource, type HistoryAction } from './entities/booking-history.entity.js';
import { BookingReferenceEntity } from './entities/booking-reference.entity.js';
import { BookingEntity } from './entities/booking.entity.js';
import { HOST_EVENT_OF_ACTION, fieldChanges } from './domain/host-event-changes.js';
import { HostEventRecorder } from '../host-events/ports/host-event-recorder.port.js';
import type { ConflictPolicy } from '../sync-preferences/index.js';
import { type Conflict, conflictWith } from './conflicts/conflict-detector.js';

@Injectable()
export class BookingsRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
    private readonly hostEvents: HostEventRecorder,
  ) {}

  lockBooking(manager: EntityManager, id: number): Promise<BookingEntity | null> {
    return manager.findOne(BookingEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async addHistory(
    manager: EntityManager,
    bookingId: number,
    action: HistoryAction,
    source: ChangeSource,
    changes: Record<string, unknown>,
  ): Promise<void> {
    await manager.insert(BookingHistoryEntity, { bookingId, action, source, changes, at: () => 'clock_timestamp()' } as never);
    await this.recordHostEvent(manager, bookingId, action, source, changes);
  }

  /**
   * The host's event for this change (webhooks, change feed), in the same transaction: every caller
   * writes the history entry after the booking row, its attendees and references are final, so the
   * booking read here is the booking as the change left it.
   */
  private async recordHostEvent(
    manager: EntityManager,
    bookingId: number,
    action: HistoryAction,
    source: ChangeSource,
    changes: Record<string, unknown>,
  ): Promise<void> {
    const type = HOST_EVENT_OF_ACTION[action];
    if (!type) return;
    const view = await this.view(bookingId, manager, { history: false });
    if (!view) return;
    const { history: _history, ...booking } = view;
    await this.hostEvents.record(manager, {
      type,
      bookingId,
      data: { booking, source, changes: fieldChanges(action, changes, booking) },
    });
  }

  /**
   * `booking.conflict` for the host, in the change's transaction: the calendar reschedule that
   * conflicts (`changes` as its history entry has them), what the policy did with it, and what it
   * overlaps (other booking ids, busy intervals: no details of the host's other events).
   */
  async recordConflict(
    manager: EntityManager,
    bookingId: number,
    source: ChangeSource,
    changes: Record<string, unknown>,
    policy: ConflictPolicy,
    conflict: Conflict,
  ): Promise<void> {
    const view = await this.view(bookingId, manager, { history: false });
    if (!view) return;
    const { history: _history, ...booking } = view;
    await this.hostEvents.record(manager, {
      type: 'booking.conflict',
      bookingId,
      data: {
        booking,
        source,
        changes: fieldChanges('rescheduled', changes, booking),
        conflict: { policy, with: conflictWith(conflict) },
      },
    });
  }

  /** Makes the host's calendar match the booking, durably: retried with backoff until it lands. */
  async enqueueCalendarWrite(manager: EntityManager, bookingId: number): Promise<void> {
    await this.jobs.enqueueJob(WRITE_BOOKING_JOB, { bookingId }, writeBookingJobOptions(bookingId), manager);
  }

  /**
   * Bookings with their attendees, references and history, read from one snapshot (a booking and
   * its history are committed together, so they are read together).
   */
  async views(ids: number[], manager?: EntityManager, options: { history?: boolean } = {}): Promise<BookingView[]> {
    if (ids.length === 0) return [];
    if (!manager) return this.dataSource.transaction('REPEATABLE READ', (snapshot) => this.views(ids, snapshot, options));
    const bookings = await manager.find(BookingEntity, { where: { id: In(ids) }, order: { startTime: 'ASC', id: 'ASC' } });
    const attendees = await manager.find(AttendeeEntity, { where: { bookingId: In(ids) }, order: { id: 'ASC' } });
    const references = await manager.find(BookingReferenceEntity, { where: { bookingId: In(ids) } });
    const history =
      options.history === false
        ? []
        : await manager.find(BookingHistoryEntity, { where: { bookingId: In(ids) }, order: { id: 'ASC' } });
    const group = <T extends { bookingId: number }>(rows: T[]) => {
      const map = new Map<number, T[]>();
      for (const row of rows) map.set(row.bookingId, [...(map.get(row.bookingId) ?? []), row]);
      return map;
    };
    const attendeesBy = group(attendees);
    const referencesBy = group(references);
    const historyBy = group(history);
    return bookings.map((b) => ({
      id: b.id,
      uid: b.uid,
      userId: b.userId,
      title: b.title,
      description: b.description,
      location: b.location,
      startTime: b.startTime.toISOString(),
      endTime: b.endTime.toISOString(),
      status: b.status,
      cancellationReason: b.cancellationReason,
      conflict: b.conflict,
      pendingChange: b.pendingChange
        ? { startTime: b.pendingChange.startTime, endTime: b.pendingChange.endTime, source: b.pendingChange.source }
        : null,
      attendees: (attendeesBy.get(b.id) ?? []).map((a) => ({ email: a.email, name: a.name })),
      references: (referencesBy.get(b.id) ?? [])
        .filter((r) => !r.deletedAt)
        .map((r) => ({
          provider: r.provider,
          externalCalendarId: r.externalCalendarId,
          externalEventId: r.externalEventId,
          iCalUID: r.iCalUID,
        })),
      history: (historyBy.get(b.id) ?? []).map((h) => ({
        at: h.at.toISOString(),
        action: h.action,
        source: h.source,
        changes: h.changes,
      })),
      createdAt: b.createdAt.toISOString(),
      updatedAt: b.updatedAt.toISOString(),
    }));
  }

  async view(id: number, manager?: EntityManager, options: { history?: boolean } = {}): Promise<BookingView | null> {
    return (await this.views([id], manager, options))[0] ?? null;
  }
}
