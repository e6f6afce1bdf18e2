import { Injectable } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { DataSource, EntityManager } from 'typeorm';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import type { BookingChangeOutcome } from './booking-change-outcome.js';
import { BookingCancelledError, BookingNotFoundError } from './bookings.errors.js';
import { BookingsRepository } from './bookings.repository.js';
import type { ChangeSource, HistoryAction } from './entities/booking-history.entity.js';
import { BookingEntity } from './entities/booking.entity.js';

export interface ChangeDecision {
  /** null: nothing to do (already in that state, or a rule refuses it). */
  action: HistoryAction | null;
  reason?: string;
  changes?: Record<string, unknown>;
  apply?: (manager: EntityManager, booking: BookingEntity) => Promise<void>;
  event?: () => object;
}

/**
 * The shared transaction of every booking change: lock the booking, apply the outbox row at most
 * once, write the history entry, and (for API changes) schedule the calendar write. Idempotent:
 * a change that leaves the booking as it was writes nothing.
 */
@Injectable()
export class BookingChangeApplier {
  constructor(
    private readonly dataSource: DataSource,
    private readonly bookings: BookingsRepository,
    private readonly eventBus: EventBus,
    private readonly metrics: MetricsService,
  ) {}

  async apply(
    bookingId: number,
    source: ChangeSource,
    changeId: string | undefined,
    decide: (booking: BookingEntity, manager: EntityManager) => ChangeDecision | Promise<ChangeDecision>,
  ): Promise<BookingChangeOutcome> {
    let event: object | undefined;
    let action: HistoryAction | null = null;
    const outcome = await this.dataSource.transaction(async (manager) => {
      const booking = await this.bookings.lockBooking(manager, bookingId);
      if (!booking) {
        if (changeId) await this.markChange(manager, changeId, 'booking missing');
        throw new BookingNotFoundError(bookingId);
      }
      if (changeId && !(await this.claimChange(manager, changeId))) {
        return { bookingId, changed: false, reason: 'already applied' };
      }
      if (source !== 'api' && booking.endTime.getTime() <= Date.now()) {
        if (changeId) await this.markChange(manager, changeId, 'ignored: booking already ended');
        return { bookingId, changed: false, reason: 'booking already ended' };
      }
      const decision = await decide(booking, manager);
      if (!decision.action || !decision.apply) {
        if (changeId) await this.markChange(manager, changeId, `ignored: ${decision.reason ?? 'no change'}`);
        return { bookingId, changed: false, reason: decision.reason ?? 'no change' };
      }
      await decision.apply(manager, booking);
      await this.bookings.addHistory(manager, bookingId, decision.action, source, decision.changes ?? {});
      if (source === 'api') await this.bookings.enqueueCalendarWrite(manager, bookingId);
      if (changeId) await this.markChange(manager, changeId, 'applied');
      event = decision.event?.();
      action = decision.action;
      return { bookingId, changed: true };
    });
    if (action) this.metrics.bookingChanges.inc({ action, source });
    if (event) this.eventBus.publish(event);
    return outcome;
  }

  /** Refuses API changes to a cancelled booking; provider changes to it are just ignored. */
  static refuseIfCancelled(booking: BookingEntity, source: ChangeSource): ChangeDecision | null {
    if (booking.status !== 'cancelled') return null;
    if (source === 'api') throw new BookingCancelledError(booking.id);
    return { action: null, reason: 'booking is cancelled' };
  }

  private async claimChange(manager: EntityManager, changeId: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `SELECT 1 FROM "ExternalEventChange" WHERE "id" = $1 AND "appliedAt" IS NULL FOR UPDATE SKIP LOCKED`,
      [changeId],
    );
    return rows.length > 0;
  }

  private async markChange(manager: EntityManager, changeId: string, outcome: string): Promise<void> {
    await manager.query(
      `UPDATE "ExternalEventChange" SET "appliedAt" = clock_timestamp(), "outcome" = $2 WHERE "id" = $1 AND "appliedAt" IS NULL`,
      [changeId, outcome],
    );
  }
}
