import { Injectable } from '@nestjs/common';
import { CommandHandler, EventBus, type ICommandHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { MetricsService } from '../../../infrastructure/metrics/metrics.service.js';
import type { ConflictingBusy } from '../../availability/index.js';
import type { BookingChangeOutcome } from '../booking-change-outcome.js';
import {
  BookingCancelledError,
  BookingNotFoundError,
  NoPendingChangeError,
  PendingChangeMovedError,
} from '../bookings.errors.js';
import { BookingsRepository } from '../bookings.repository.js';
import { ConflictDetector, isConflict } from '../conflicts/conflict-detector.js';
import { BookingEntity } from '../entities/booking.entity.js';
import { BookingRescheduled } from '../events/booking.events.js';
import { AcceptPendingChangeCommand, RejectPendingChangeCommand } from './pending-change.commands.js';

type Decision = 'accept' | 'reject';

/**
 * Both answers to a pending change, in one transaction with the booking locked, so an accept or
 * reject and a calendar change of the same booking are applied one after the other, never mixed:
 * - a newer calendar move recorded but not yet applied makes the answer 409
 *   (`PendingChangeMovedError`): it replaces the pending change, and the host app decides again
 *   on what it becomes;
 * - one applied first has replaced (or cleared) the pending change: the answer is about what is
 *   pending then, or 404;
 * - one recorded after the answer is evaluated against the booking as the answer left it.
 * Either way a write is scheduled: it writes nothing when the event already matches (accept), moves
 * the event back (reject), and a host edit made meanwhile wins its 412 and is evaluated on its own.
 */
@Injectable()
abstract class PendingChangeHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly bookings: BookingsRepository,
    private readonly detector: ConflictDetector,
    private readonly eventBus: EventBus,
    private readonly metrics: MetricsService,
  ) {}

  protected async resolve(bookingId: number, decision: Decision): Promise<BookingChangeOutcome> {
    // Accepting: the calendar part of the conflict check, read before the transaction (it may call a provider).
    let calendars: ConflictingBusy | null = null;
    const before = await this.dataSource.manager.findOneBy(BookingEntity, { id: bookingId });
    if (decision === 'accept' && before?.pendingChange && before.status === 'accepted') {
      const { startTime, endTime } = before.pendingChange;
      calendars = await this.detector.calendarBusy(before, new Date(startTime), new Date(endTime));
    }
    let event: BookingRescheduled | null = null;
    let source: string | null = null;
    await this.dataSource.transaction(async (manager) => {
      const booking = await this.bookings.lockBooking(manager, bookingId);
      if (!booking) throw new BookingNotFoundError(bookingId);
      if (booking.status === 'cancelled') throw new BookingCancelledError(bookingId);
      const pending = booking.pendingChange;
      if (!pending) throw new NoPendingChangeError(bookingId);
      const newer: unknown[] = await manager.query(
        `SELECT 1 FROM "ExternalEventChange" WHERE "bookingId" = $1 AND "appliedAt" IS NULL AND "kind" IN ('rescheduled', 'deleted') LIMIT 1`,
        [bookingId],
      );
      if (newer.length > 0) throw new PendingChangeMovedError(bookingId);

      source = pending.source;
      const from = { startTime: booking.startTime.toISOString(), endTime: booking.endTime.toISOString() };
      const to = { startTime: pending.startTime, endTime: pending.endTime };
      booking.pendingChange = null;
      if (decision === 'accept') {
        const start = new Date(pending.startTime);
        const end = new Date(pending.endTime);
        // Judged again: what it conflicted with may have moved or been cancelled since it was flagged.
        const sameTimes =
          before?.pendingChange?.startTime === pending.startTime && before.pendingChange.endTime === pending.endTime;
        const conflict = await this.detector.detect(manager, booking, start, end, sameTimes && calendars ? { calendars } : null);
        booking.startTime = start;
        booking.endTime = end;
        booking.conflict = isConflict(conflict);
        await manager.save(booking);
        await manager.query(`UPDATE "Booking" SET "updatedAt" = now() WHERE "id" = $1`, [bookingId]);
        await this.bookings.addHistory(manager, bookingId, 'rescheduled', pending.source, {
          from,
          to,
          pendingChange: 'accepted',
        });
        event = new BookingRescheduled(bookingId, pending.source, from, to);
      } else {
        await manager.save(booking);
        await manager.query(`UPDATE "Booking" SET "updatedAt" = now() WHERE "id" = $1`, [bookingId]);
        await this.bookings.addHistory(manager, bookingId, 'reverted', pending.source, {
          from,
          to,
          policy: 'flag',
          pendingChange: 'rejected',
        });
        // A reverted entry tells the host app nothing by itself; its copy still shows the pending change.
        await this.bookings.recordPendingChangeCleared(manager, bookingId, 'api', pending);
      }
      await this.bookings.enqueueCalendarWrite(manager, bookingId);
    });
    if (source) this.metrics.bookingChanges.inc({ action: decision === 'accept' ? 'rescheduled' : 'reverted', source });
    if (event) this.eventBus.publish(event);
    return { bookingId, changed: true };
  }
}

@CommandHandler(AcceptPendingChangeCommand)
export class AcceptPendingChangeHandler extends PendingChangeHandler implements ICommandHandler<AcceptPendingChangeCommand> {
  execute({ bookingId }: AcceptPendingChangeCommand) {
    return this.resolve(bookingId, 'accept');
  }
}

@CommandHandler(RejectPendingChangeCommand)
export class RejectPendingChangeHandler extends PendingChangeHandler implements ICommandHandler<RejectPendingChangeCommand> {
  execute({ bookingId }: RejectPendingChangeCommand) {
    return this.resolve(bookingId, 'reject');
  }
}
