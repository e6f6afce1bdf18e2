import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import type { BookingView } from './booking-view.js';
import { WRITE_BOOKING_JOB, writeBookingJobOptions } from './bookings.jobs.js';
import { BookingHistoryEntity, type ChangeSource, type HistoryAction } from './entities/booking-history.entity.js';
import { BookingEntity, type PendingChange } from './entities/booking.entity.js';
import { HOST_EVENT_OF_ACTION, fieldChanges, fieldChangesNeedBooking } from './domain/host-event-changes.js';
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

  /**
   * The booking's history entry for a change, and the host's event for it. `settles`: the outbox
   * row ("ExternalEventChange") the change applies, marked applied with `outcome` in the same
   * statement (as `markChangeApplied` does alone).
   */
  async addHistory(
    manager: EntityManager,
    bookingId: number,
    action: HistoryAction,
    source: ChangeSource,
    changes: Record<string, unknown>,
    settles?: { changeId: string; outcome: string },
  ): Promise<void> {
    const type = HOST_EVENT_OF_ACTION[action];
    if (!type) {
      await manager.insert(BookingHistoryEntity, { bookingId, action, source, changes, at: () => 'clock_timestamp()' } as never);
      if (settles) await markChangeApplied(manager, settles.changeId, settles.outcome);
      return;
    }
    // The host's event for this change (webhooks, change feed), in the same transaction. Every
    // caller writes the history entry after the booking row, its attendees and references are
    // final, so the booking read here is the booking as the change left it.
    const history = `h AS (
         INSERT INTO "BookingHistory" ("bookingId", "at", "action", "source", "changes")
         VALUES ($1, clock_timestamp(), $2, $3, $4::jsonb))`;
    const mark = `m AS (${markChangeSql('$5', '$6')})`;
    const params = [bookingId, action, source, JSON.stringify(changes), ...(settles ? [settles.changeId, settles.outcome] : [])];
    const ctes = settles ? `${history}, ${mark}` : history;
    if (!fieldChangesNeedBooking(action, changes)) {
      // A reschedule, a cancellation, a detail change: the entry, the outbox row's mark, the
      // booking's view (built by SQL, `viewJson`) and the event are one statement, one round trip
      // on the path of every calendar change.
      await this.hostEvents.recordWith(
        manager,
        { type, bookingId },
        {
          ctes,
          params: [...params, JSON.stringify(fieldChanges(action, changes))],
          from: `"Booking" b WHERE b."id" = $1`,
          data: `jsonb_build_object('booking', ${viewJson()}, 'source', $3::text, 'changes', $${params.length + 1}::jsonb)`,
        },
      );
      return;
    }
    // A creation or an attendee change: the host's changes need the booking's attendees and times,
    // read in the history entry's statement (it leaves history out, so not seeing the entry
    // inserted beside it changes nothing), then the event.
    const rows: ViewRow[] = await manager.query(
      `WITH ${ctes} SELECT ${viewColumns('false')} FROM "Booking" b WHERE b."id" = $1`,
      params,
    );
    if (!rows[0]) return;
    const { history: _history, ...booking } = toView(rows[0]);
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
    await this.recordWithBooking(manager, bookingId, 'booking.conflict', (booking) => ({
      booking,
      source,
      changes: fieldChanges('rescheduled', changes, booking),
      conflict: { policy, with: conflictWith(conflict) },
    }));
  }

  /**
   * `booking.updated` for a pending change that is gone (rejected, replaced by the host's next move,
   * or left without its event), in the change's transaction: the host app's last copy of the
   * booking (its `booking.conflict`) still shows it otherwise. `changes` names it as
   * `pendingChange: {from, to: null}`; a change that replaces it brings its own event after this one.
   */
  async recordPendingChangeCleared(
    manager: EntityManager,
    bookingId: number,
    source: ChangeSource,
    pending: PendingChange,
  ): Promise<void> {
    await this.recordWithBooking(manager, bookingId, 'booking.updated', (booking) => ({
      booking,
      source,
      changes: { pendingChange: { from: pending, to: null } },
    }));
  }

  /** A host event whose data carries the booking as this transaction leaves it (without its history). */
  private async recordWithBooking(
    manager: EntityManager,
    bookingId: number,
    type: 'booking.conflict' | 'booking.updated',
    data: (booking: Omit<BookingView, 'history'>) => Record<string, unknown>,
  ): Promise<void> {
    const view = await this.view(bookingId, manager, { history: false });
    if (!view) return;
    const { history: _history, ...booking } = view;
    await this.hostEvents.record(manager, { type, bookingId, data: data(booking) });
  }

  /** Makes the host's calendar match the booking, durably: retried with backoff until it lands. */
  async enqueueCalendarWrite(manager: EntityManager, bookingId: number): Promise<void> {
    await this.jobs.enqueueJob(WRITE_BOOKING_JOB, { bookingId }, writeBookingJobOptions(bookingId), manager);
  }

  /**
   * Bookings with their attendees, references and history, in one statement: one round trip, and
   * one snapshot (a booking and its history are committed together, so they are read together).
   * Every change's transaction reads its booking this way for the host event, and every API answer
   * for the caller, so it is the hottest read of the module.
   */
  async views(ids: number[], manager?: EntityManager, options: { history?: boolean } = {}): Promise<BookingView[]> {
    if (ids.length === 0) return [];
    const rows: ViewRow[] = await (manager ?? this.dataSource.manager).query(
      `SELECT ${viewColumns('$2')} FROM "Booking" b WHERE b."id" = ANY($1::int[]) ORDER BY b."startTime", b."id"`,
      [ids, options.history !== false],
    );
    return rows.map(toView);
  }

  async view(id: number, manager?: EntityManager, options: { history?: boolean } = {}): Promise<BookingView | null> {
    return (await this.views([id], manager, options))[0] ?? null;
  }
}

/** A row of `views`: the booking's columns, its attendees, references and history as JSON. */
interface ViewRow {
  id: number;
  uid: string;
  userId: number;
  title: string;
  description: string | null;
  location: string | null;
  startTime: Date;
  endTime: Date;
  status: string;
  cancellationReason: string | null;
  conflict: boolean;
  pendingChange: { startTime: string; endTime: string; source: ChangeSource } | null;
  createdAt: Date;
  updatedAt: Date;
  attendees: BookingView['attendees'];
  references: BookingView['references'];
  history: BookingView['history'];
}

/** A booking's attendees (`b` is the "Booking" row), as JSON. */
const ATTENDEES_JSON = `COALESCE((SELECT json_agg(json_build_object('email', a."email", 'name', a."name") ORDER BY a."id")
                      FROM "Attendee" a WHERE a."bookingId" = b."id"), '[]')`;

/** A booking's live calendar events, as JSON. */
const REFERENCES_JSON = `COALESCE((SELECT json_agg(json_build_object('provider', r."provider", 'externalCalendarId', r."externalCalendarId",
                                                      'externalEventId', r."externalEventId", 'iCalUID', r."iCalUID") ORDER BY r."id")
                      FROM "BookingReference" r WHERE r."bookingId" = b."id" AND r."deletedAt" IS NULL), '[]')`;

/**
 * The columns of a booking's view (`b` is the "Booking" row): its own, its attendees and live
 * references, and its history when `history` (an SQL boolean) is true.
 */
function viewColumns(history: string): string {
  return `b."id", b."uid", b."userId", b."title", b."description", b."location", b."startTime", b."endTime",
          b."status", b."cancellationReason", b."conflict", b."pendingChange", b."createdAt", b."updatedAt",
          ${ATTENDEES_JSON} AS "attendees",
          ${REFERENCES_JSON} AS "references",
          CASE WHEN ${history} THEN COALESCE((
            SELECT json_agg(json_build_object(
                     'at', ${iso('h."at"')},
                     'action', h."action", 'source', h."source", 'changes', h."changes") ORDER BY h."id")
              FROM "BookingHistory" h WHERE h."bookingId" = b."id"), '[]') ELSE '[]' END AS "history"`;
}

/**
 * The view without history (what `toView` makes of `viewColumns`) as jsonb, built by SQL from the
 * row `b`, for statements that write it (the host's events). Times as `toISOString` writes them:
 * UTC, milliseconds (both truncate microseconds).
 */
function viewJson(): string {
  return `jsonb_build_object(
            'id', b."id", 'uid', b."uid", 'userId', b."userId", 'title', b."title", 'description', b."description",
            'location', b."location", 'startTime', ${iso('b."startTime"')}, 'endTime', ${iso('b."endTime"')},
            'status', b."status", 'cancellationReason', b."cancellationReason", 'conflict', b."conflict",
            'pendingChange', CASE WHEN b."pendingChange" IS NULL THEN NULL ELSE jsonb_build_object(
              'startTime', b."pendingChange"->'startTime', 'endTime', b."pendingChange"->'endTime',
              'source', b."pendingChange"->'source') END,
            'attendees', ${ATTENDEES_JSON}, 'references', ${REFERENCES_JSON},
            'createdAt', ${iso('b."createdAt"')}, 'updatedAt', ${iso('b."updatedAt"')})`;
}

/** An SQL timestamp as JavaScript's `toISOString`. */
function iso(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

function toView(b: ViewRow): BookingView {
  return {
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
    attendees: b.attendees,
    references: b.references,
    history: b.history,
    createdAt: b.createdAt.toISOString(),
    updatedAt: b.updatedAt.toISOString(),
  };
}

/** Marks an outbox row applied (once: a row already applied keeps its first outcome). */
export async function markChangeApplied(manager: EntityManager, changeId: string, outcome: string): Promise<void> {
  await manager.query(markChangeSql('$1', '$2'), [changeId, outcome]);
}

/** The statement that marks an outbox row applied with an outcome (once: a row already applied keeps its first). */
function markChangeSql(id: string, outcome: string): string {
  return `UPDATE "ExternalEventChange" SET "appliedAt" = clock_timestamp(), "outcome" = ${outcome} WHERE "id" = ${id} AND "appliedAt" IS NULL`;
}
