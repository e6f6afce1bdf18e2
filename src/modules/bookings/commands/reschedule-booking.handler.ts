import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { SyncPreferencesService } from '../../sync-preferences/index.js';
import { BookingChangeApplier } from '../booking-change.applier.js';
import type { ConflictingBusy } from '../../availability/index.js';
import { type BookingForCheck, type ConflictPreRead, ConflictDetector } from '../conflicts/conflict-detector.js';
import { BookingEntity } from '../entities/booking.entity.js';
import { BookingRescheduled } from '../events/booking.events.js';
import { RescheduleBookingCommand } from './reschedule-booking.command.js';

@CommandHandler(RescheduleBookingCommand)
export class RescheduleBookingHandler implements ICommandHandler<RescheduleBookingCommand> {
  constructor(
    private readonly applier: BookingChangeApplier,
    private readonly detector: ConflictDetector,
    private readonly preferences: SyncPreferencesService,
  ) {}

  async execute({ bookingId, startTime, endTime, source, changeId, idempotency, hostHint }: RescheduleBookingCommand) {
    const preRead = await this.conflictPreRead(bookingId, startTime, endTime, source, hostHint);
    return this.applier.apply(bookingId, source, { changeId, idempotency }, async (booking, manager) => {
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
      // Detected for every calendar reschedule (the conflict policy decides), and for an API
      // reschedule of a booking marked as conflicting (whether the mark stays).
      const conflict =
        source !== 'api' || booking.conflict ? await this.detector.detect(manager, booking, startTime, endTime, preRead) : null;
      return {
        action: 'rescheduled',
        changes: { from, to, ...(conflict?.unchecked ? { busyUnchecked: conflict.unchecked } : {}) },
        conflict,
        apply: async (m, b) => {
          b.startTime = startTime;
          b.endTime = endTime;
          b.conflict = conflict ? conflict.bookings.length > 0 || conflict.busy.length > 0 : false;
          // A pending change is about the times: any reschedule that lands replaces it.
          b.pendingChange = null;
          // One UPDATE of the changed columns (`save` would read the row again first).
          await m.update(BookingEntity, { id: b.id }, { startTime, endTime, conflict: b.conflict, pendingChange: null });
        },
        updatesRow: true,
        event: () => new BookingRescheduled(bookingId, source, from, to),
      };
    });
  }

  /**
   * The conflict check's reads, before the change's transaction (the calendar part may call a
   * provider). Only when a conflict is to be judged: a calendar reschedule that the preferences
   * let through, or an API reschedule of a booking marked as conflicting.
   *
   * With `hostHint` (a calendar change: the calendar's owner), the host's calendars are read beside
   * the booking rather than after it, one round trip less on every calendar reschedule's path; the
   * booking's own events, which that read leaves out, follow when the booking is read. If the
   * booking is not to be judged, that read stops before any provider is called; if it is someone
   * else's, the calendars are read again for its host.
   */
  private async conflictPreRead(
    bookingId: number,
    start: Date,
    end: Date,
    source: string,
    hostHint: number | undefined,
  ): Promise<ConflictPreRead | null> {
    const judged = async (booking: BookingForCheck | null): Promise<BookingForCheck | null> => {
      if (!booking || booking.status !== 'accepted') return null;
      if (source === 'api' ? !booking.conflict : !(await this.preferences.forUser(booking.userId)).applyReschedules) return null;
      if (booking.startTime.getTime() === start.getTime() && booking.endTime.getTime() === end.getTime()) return null;
      return booking;
    };
    const bookingRead = this.detector.bookingForCheck(bookingId, start, end).then(judged);
    let early: Promise<ConflictingBusy> | null = null;
    if (hostHint !== undefined) {
      const events = bookingRead.then((booking) => {
        if (booking?.userId !== hostHint) throw new NotJudgedHere();
        return booking.events;
      });
      events.catch(() => undefined);
      early = this.detector.calendarBusy({ id: bookingId, userId: hostHint }, start, end, events);
    }
    const booking = await bookingRead;
    if (!booking) return null;
    const calendars =
      early && booking.userId === hostHint ? await early : await this.detector.calendarBusy(booking, start, end, booking.events);
    return { calendars, overlapping: booking.overlapping };
  }
}

/** The early calendar read is not the one this booking needs (see `conflictPreRead`). */
class NotJudgedHere extends Error {}
