import { Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { DataSource, type EntityManager } from 'typeorm';
import { preparedQuery } from '../../../infrastructure/database/prepared-query.js';
import { type ConflictingBusy, GetConflictingBusyQuery } from '../../availability/index.js';

/** What a new time of a booking overlaps. */
export interface Conflict {
  /** Other accepted bookings of the host overlapping the time. */
  bookings: number[];
  /** Busy time of the host's selected calendars within the time (merged; no event details). */
  busy: Array<{ start: string; end: string }>;
  /** Why some calendar could not be read (then it counted as free), or null. */
  unchecked: string | null;
}

/** What `ConflictDetector.bookingForCheck` reads. */
export interface BookingForCheck {
  id: number;
  userId: number;
  status: string;
  conflict: boolean;
  startTime: Date;
  endTime: Date;
  events: Array<{ credentialId: number; externalCalendarId: string; externalEventId: string }>;
  /** The host's other accepted bookings overlapping [start, end) (at most 50). */
  overlapping: number[];
}

/** What a conflict check reads before the change's transaction (see `ConflictDetector`). */
export interface ConflictPreRead {
  calendars: ConflictingBusy;
  /** The other bookings (`BookingForCheck.overlapping`); read in the transaction when absent. */
  overlapping?: number[];
}

export function isConflict(conflict: Conflict | null): conflict is Conflict {
  return conflict !== null && (conflict.bookings.length > 0 || conflict.busy.length > 0);
}

/** A conflict as the history and the host app see it: what it overlaps, without event details. */
export function conflictWith(conflict: Conflict): Record<string, unknown> {
  return {
    bookings: conflict.bookings,
    busy: conflict.busy,
    ...(conflict.unchecked ? { unchecked: conflict.unchecked } : {}),
  };
}

/**
 * Conflict detection for a booking's new time: another accepted booking of the same host
 * overlapping it (on "Booking_userId_endTime_idx"), or busy time in the host's selected calendars
 * (availability's `GetConflictingBusyQuery`: the cache where trusted, live otherwise). Overlap is
 * strict: back-to-back (one ends when the other starts) is not a conflict.
 *
 * Both are read before the change's transaction (`bookingForCheck`, `calendarBusy`): the calendar
 * part may call a provider, and a transaction must not hold its connection and the booking's lock
 * meanwhile; the other bookings are read in the same statement as the booking (one round trip on
 * every calendar reschedule's path). Locking this booking would not hold the host's other bookings
 * still anyway: a booking created or moved into the time a moment later is a conflict that this
 * check cannot see either way, and that booking's own change is the one judged then.
 * Calendar events that belong to bookings (the booking's own event, which sits at the new time
 * already, and other bookings' events) are left out of it: bookings are judged by their own
 * status and times, so a cancelled booking whose event is still on its way out never counts.
 */
@Injectable()
export class ConflictDetector {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queries: QueryBus,
  ) {}

  /**
   * A booking with what the calendar part of its conflict check needs, in one statement: its
   * state, and the calendar events of the host's bookings (its own, and others overlapping
   * [start, end)), which `calendarBusy` leaves out of the busy time. Null for an unknown booking.
   */
  async bookingForCheck(bookingId: number, start: Date, end: Date): Promise<BookingForCheck | null> {
    const rows: BookingForCheck[] = await preparedQuery(
      this.dataSource,
      `SELECT b."id", b."userId", b."status", b."conflict", b."startTime", b."endTime",
              COALESCE((SELECT json_agg(json_build_object('credentialId', r."credentialId",
                                                          'externalCalendarId', r."externalCalendarId",
                                                          'externalEventId', r."externalEventId"))
                          FROM "Booking" o JOIN "BookingReference" r ON r."bookingId" = o."id"
                         WHERE o."userId" = b."userId" AND r."credentialId" IS NOT NULL
                           AND (o."id" = b."id" OR (o."endTime" > $2 AND o."startTime" < $3))), '[]') AS "events",
              ARRAY(SELECT o."id" FROM "Booking" o
                     WHERE o."userId" = b."userId" AND o."endTime" > $2 AND o."startTime" < $3
                       AND o."status" = 'accepted' AND o."id" <> b."id"
                     LIMIT 50) AS "overlapping"
         FROM "Booking" b WHERE b."id" = $1`,
      [bookingId, start, end],
    );
    return rows[0] ?? null;
  }

  /**
   * Busy time in the host's calendars within [start, end), bookings' own events left out. Never
   * throws. `events`: those bookings' events, when the caller reads them itself (`bookingForCheck`;
   * a promise: awaited once the calendars are read).
   */
  async calendarBusy(
    booking: { id: number; userId: number },
    start: Date,
    end: Date,
    events?: BookingForCheck['events'] | Promise<BookingForCheck['events']>,
  ): Promise<ConflictingBusy> {
    const ownEvents: BookingForCheck['events'] | Promise<BookingForCheck['events']> =
      events ??
      (await this.dataSource.query(
        `SELECT r."credentialId", r."externalCalendarId", r."externalEventId"
           FROM "Booking" b JOIN "BookingReference" r ON r."bookingId" = b."id"
          WHERE b."userId" = $1 AND r."credentialId" IS NOT NULL
            AND (b."id" = $4 OR (b."endTime" > $2 AND b."startTime" < $3))`,
        [booking.userId, start, end, booking.id],
      ));
    try {
      return await this.queries.execute(new GetConflictingBusyQuery(booking.userId, start, end, ownEvents));
    } catch (error) {
      // The calendars cannot be judged (e.g. the user was removed meanwhile): the bookings still are.
      return { busy: [], unchecked: `calendars could not be read (${(error as Error).name})` };
    }
  }

  /**
   * In the change's transaction: the conflict of [start, end) for `booking`, from what was read
   * before (`preRead`); without it (nothing was read: the booking was not yet to be judged then)
   * the other bookings are read here and the calendars count as unread.
   */
  async detect(
    manager: EntityManager,
    booking: { id: number; userId: number },
    start: Date,
    end: Date,
    preRead: ConflictPreRead | null,
  ): Promise<Conflict> {
    const overlapping =
      preRead?.overlapping ??
      (
        (await manager.query(
          `SELECT "id" FROM "Booking"
            WHERE "userId" = $1 AND "endTime" > $2 AND "startTime" < $3 AND "status" = 'accepted' AND "id" <> $4
            LIMIT 50`,
          [booking.userId, start, end, booking.id],
        )) as Array<{ id: number }>
      ).map((r) => r.id);
    return {
      // Sorted here: an ORDER BY on "startTime" makes the planner walk "Booking_userId_startTime_idx"
      // through the host's whole past instead of the upcoming end of "Booking_userId_endTime_idx".
      bookings: [...overlapping].sort((x, y) => x - y),
      busy: preRead?.calendars.busy ?? [],
      unchecked: preRead ? preRead.calendars.unchecked : 'calendars not read',
    };
  }
}
