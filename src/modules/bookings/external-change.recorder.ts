import { SyncPreferencesService } from '../sync-preferences/index.js';
import { preparedQuery } from '../../infrastructure/database/prepared-query.js';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { ProviderName } from '../../config/app-config.js';
import type { ExternalEvent } from '../providers/external-event.js';
import { detectChanges } from './domain/detect-changes.js';
import { type EventBaseline, baselineOf } from './domain/event-baseline.js';
import type { ExternalChangeKind } from './entities/external-event-change.entity.js';
import {
  EventAttendeesChanged,
  EventDeleted,
  EventDetailsChanged,
  EventRescheduled,
  type ExternalEventDomainEvent,
} from './events/external-event.events.js';
import { type DeletionToHold, HeldChangesRepository } from './held-changes/held-changes.repository.js';
import type { PendingExternalChanges } from './ports/pending-external-changes.port.js';
import { HostEventRecorder } from '../host-events/ports/host-event-recorder.port.js';

/** The calendar a page of provider events came from. */
export interface SyncedCalendar {
  /** null when the change was read outside a sync (a write job resolving a conflict). */
  selectedCalendarId: number | null;
  userId: number;
  credentialId: number;
  provider: ProviderName;
  externalCalendarId: string;
}

/** Where an event the host moved to another of their calendars now lives. */
export interface MovedEvent {
  credentialId: number;
  externalCalendarId: string;
  event: ExternalEvent;
}

/**
 * The brake on mass cancellation (`SYNC_MASS_CANCEL_THRESHOLD`): when one `record` call would
 * cancel more upcoming bookings than `above`, those deletions are held for a person instead (a
 * "SyncHold" with one "SyncHoldChange" per booking, in the same transaction): no outbox row, no
 * domain event, the references stay as they are, so nothing is cancelled and nothing is lost if
 * the process dies right after. The admin routes of held changes confirm or discard them.
 */
export interface DeletionBrake {
  /** Hold the deletions when there are more than this many. */
  above: number;
  /** Why, in words a person reads, given how many would have been cancelled. */
  reason: (count: number) => string;
}

/** What `record` did, for the caller to act on once the transaction committed. */
export interface RecordedChanges {
  /** The domain events to publish after commit. */
  events: ExternalEventDomainEvent[];
  /** The deletions held instead of recorded (see `DeletionBrake`), or null. */
  held: { holdId: number; count: number } | null;
}

/**
 * An outbox row as `pendingEvents` reads it: each kind with the payload `record` wrote for it
 * (jsonb, parsed by the driver).
 */
type PendingRow = { id: string; bookingId: number; source: ProviderName } & (
  | { kind: 'rescheduled'; payload: { startTime: string; endTime: string } }
  | { kind: 'deleted'; payload: Record<string, never> }
  | { kind: 'details'; payload: EventDetailsChanged['details'] }
  | { kind: 'attendees'; payload: { attendees: EventAttendeesChanged['attendees'] } }
);

interface LinkedRow {
  referenceId: number;
  bookingId: number;
  credentialId: number | null;
  externalCalendarId: string;
  externalEventId: string;
  iCalUID: string | null;
  baseline: EventBaseline | null;
  deletedAt: Date | null;
  status: string;
  endTime: Date;
  /** Its deletion waits in a hold nobody resolved yet: not recorded again. */
  held: boolean;
}

/**
 * The bookings side of a sync run: finds the bookings behind changed provider events, compares each
 * with its stored baseline, and records what changed as outbox rows in the caller's transaction
 * (the same one that advances the cursor). Returns the domain events to publish after commit.
 */
@Injectable()
export class ExternalChangeRecorder implements PendingExternalChanges {
  constructor(
    private readonly dataSource: DataSource,
    private readonly holds: HeldChangesRepository,
    private readonly hostEvents: HostEventRecorder,
    private readonly preferences: SyncPreferencesService,
  ) {}

  /**
   * Events of this calendar, reported deleted, that are an upcoming booking's own event, with the
   * iCalUID calsync wrote for them (to look for the event elsewhere before calling it a cancellation).
   * A booking whose deletion is already held is left out: it waits for a person.
   */
  async linkedDeletions(
    calendar: SyncedCalendar,
    events: ExternalEvent[],
  ): Promise<Array<{ eventId: string; iCalUID: string | null }>> {
    const cancelled = events.filter((e) => e.status === 'cancelled');
    if (cancelled.length === 0) return [];
    const ids = new Set(cancelled.map((e) => e.id));
    const linked = await this.findLinked(this.dataSource.manager, calendar, cancelled);
    return linked
      .filter(
        (l) =>
          !l.deletedAt &&
          !l.held &&
          l.status === 'accepted' &&
          l.credentialId === calendar.credentialId &&
          l.externalCalendarId === calendar.externalCalendarId &&
          ids.has(l.externalEventId),
      )
      .map((l) => ({ eventId: l.externalEventId, iCalUID: l.iCalUID }));
  }

  /**
   * Upcoming bookings whose event lives in this calendar but was not among `seenIds` of a full
   * sync: a full sync omits deleted events, and lists only its window, so these must be checked one
   * by one. Those beyond the window too: a full sync replaces the cursor, so a deletion or move of
   * theirs that the old cursor had not delivered yet would otherwise never be seen. Bookings whose
   * deletion is already held are left out (they wait for a person; no need to ask again).
   */
  async referencesMissingFrom(calendar: SyncedCalendar, seenIds: Set<string>): Promise<string[]> {
    const rows: Array<{ externalEventId: string }> = await this.dataSource.query(
      `SELECT r."externalEventId" FROM "BookingReference" r JOIN "Booking" b ON b."id" = r."bookingId"
        WHERE r."credentialId" = $1 AND r."externalCalendarId" = $2 AND r."deletedAt" IS NULL
          AND b."status" = 'accepted' AND b."userId" = $3 AND b."endTime" > now()
          AND NOT EXISTS (SELECT 1 FROM "SyncHoldChange" h WHERE h."bookingId" = b."id" AND h."resolvedAt" IS NULL)`,
      [calendar.credentialId, calendar.externalCalendarId, calendar.userId],
    );
    return rows.map((r) => r.externalEventId).filter((id) => !seenIds.has(id));
  }

  /**
   * Upcoming bookings whose event lives in this calendar and that start at or after `from`: beyond
   * the reach of a cursor opened for a window ending there (Graph's delta reports the changes of
   * events inside its window only), so read one by one now and then (see the sync's
   * `bookingEventsBeyondCursor`). Bookings whose deletion is held are left out, as above.
   */
  async referencesFrom(calendar: SyncedCalendar, from: Date): Promise<string[]> {
    const rows: Array<{ externalEventId: string }> = await this.dataSource.query(
      `SELECT r."externalEventId" FROM "BookingReference" r JOIN "Booking" b ON b."id" = r."bookingId"
        WHERE r."credentialId" = $1 AND r."externalCalendarId" = $2 AND r."deletedAt" IS NULL
          AND b."status" = 'accepted' AND b."userId" = $3 AND b."startTime" >= $4
          AND NOT EXISTS (SELECT 1 FROM "SyncHoldChange" h WHERE h."bookingId" = b."id" AND h."resolvedAt" IS NULL)`,
      [calendar.credentialId, calendar.externalCalendarId, calendar.userId, from],
    );
    return rows.map((r) => r.externalEventId);
  }

  /**
   * The booking events among `events`' series: masters (ids) of this calendar's upcoming bookings
   * that `events` lists instances of, or, when the listing reports removals it cannot attribute
   * (Graph's `@removed` of occurrences carries nothing but an id), every booking event of this
   * calendar known to be a series. The sync reads each one again (see `resolveSeries`).
   */
  async seriesToCheck(calendar: SyncedCalendar, events: ExternalEvent[]): Promise<string[]> {
    const masters = [...new Set(events.map((e) => e.recurringEventId).filter((id): id is string => Boolean(id)))];
    const unattributed = events.some((e) => e.status === 'cancelled' && e.removal === 'unknown');
    if (masters.length === 0 && !unattributed) return [];
    const rows: Array<{ externalEventId: string }> = await this.dataSource.query(
      `SELECT DISTINCT r."externalEventId" FROM "BookingReference" r JOIN "Booking" b ON b."id" = r."bookingId"
        WHERE r."credentialId" = $1 AND r."externalCalendarId" = $2 AND r."deletedAt" IS NULL
          AND b."status" = 'accepted' AND b."userId" = $3 AND b."endTime" > now()
          AND (r."externalEventId" = ANY($4::text[]) OR ($5 AND r."baseline"->>'series' = 'true'))`,
      [calendar.credentialId, calendar.externalCalendarId, calendar.userId, masters, unattributed],
    );
    return rows.map((r) => r.externalEventId);
  }

  /**
   * Compares `events` (of `calendar`) with the baselines of the bookings behind them and records
   * what changed as outbox rows, in the caller's transaction. Deletions are counted first and
   * written after the other changes: with `brake`, more of them than `brake.above` are held for a
   * person instead (see `DeletionBrake`). A sync run hands every deletion it found to one call (its
   * last page's), so the brake sees the run's total.
   */
  async record(
    manager: EntityManager,
    calendar: SyncedCalendar,
    events: ExternalEvent[],
    moves: Map<string, MovedEvent> = new Map(),
    brake: DeletionBrake | null = null,
  ): Promise<RecordedChanges> {
    const recorded: RecordedChanges = { events: [], held: null };
    if (events.length === 0) return recorded;
    const linked = await this.findLinked(manager, calendar, events, true);
    if (linked.length === 0) return recorded;
    const byEventId = new Map(linked.map((l) => [l.externalEventId, l]));
    const byICalUID = new Map(linked.filter((l) => l.iCalUID).map((l) => [l.iCalUID as string, l]));
    const domainEvents = recorded.events;
    const deletions: LinkedRow[] = [];
    const now = Date.now();

    for (const event of events) {
      const link = byEventId.get(event.id) ?? (event.iCalUID ? byICalUID.get(event.iCalUID) : undefined);
      if (!link || link.status !== 'accepted' || link.deletedAt || link.endTime.getTime() <= now) continue;
      // Only the booking's own calendar counts; a copy with the same iCalUID in another calendar
      // becomes the booking's event only through a detected move (below).
      if (link.credentialId !== calendar.credentialId || link.externalCalendarId !== calendar.externalCalendarId) continue;
      if (link.externalEventId !== event.id) {
        // Found by the iCalUID calsync wrote: the provider gave the event a new id (Graph does on some moves).
        // An instance of a series shares its master's iCalUID (Google): never the booking's event.
        if (event.status === 'cancelled' || event.recurringEventId) continue;
        await this.relocate(manager, link.referenceId, calendar.credentialId, calendar.externalCalendarId, event.id);
      }

      if (event.status === 'cancelled') {
        // Still there, only no longer in this listing's view: not a cancellation.
        if (event.removal === 'left_view') continue;
        // A removal no get confirmed (Graph's `@removed`, which an event leaving the window or never
        // in it gives too): the sync confirms those of booking events before recording, so one
        // arriving here is of an event whose booking reference was committed in between (written
        // by the booking's own job while the sync ran). Not a cancellation; a real deletion is seen
        // by the next full listing or the read of bookings beyond the window.
        if (event.removal === 'unknown') continue;
        // Already held by an earlier run: it waits for a person, not counted or recorded again.
        if (link.held) continue;
        const moved = moves.get(event.id);
        if (moved) {
          await this.relocate(manager, link.referenceId, moved.credentialId, moved.externalCalendarId, moved.event.id);
          // The host may have changed the event where it went, and that calendar's own sync may have
          // seen it first (and passed over it: not the booking's calendar then). Compared here, or
          // the change would be lost.
          await this.compare(manager, calendar, link, moved.event, domainEvents);
          continue;
        }
        deletions.push(link);
        continue;
      }

      await this.compare(manager, calendar, link, event, domainEvents);
    }

    // Only deletions that would cancel count: those of hosts whose cancellations are ignored
    // (applyCancellations off) are recorded to be ignored, whatever their number, never held. That
    // judgement is written into their rows (`ignoredBy`): a preference switched on before a row is
    // applied (a replay after a crash, another instance's cached preferences) must not cancel what
    // the brake let through uncounted.
    let toRecord = deletions;
    const cancelling = brake && deletions.length > brake.above ? await this.cancelling(manager, calendar, deletions) : deletions;
    const uncounted = new Set(deletions.filter((l) => !cancelling.includes(l)));
    if (brake && cancelling.length > brake.above) {
      const held: DeletionToHold[] = [
        ...new Map(cancelling.map((l) => [l.bookingId, { bookingId: l.bookingId, externalEventId: l.externalEventId }])).values(),
      ];
      recorded.held = await this.holds.create(manager, calendar, held, brake.reason(held.length));
      // The host hears of the hold in the same transaction (`calendar.sync_failed`).
      await this.hostEvents.record(manager, {
        type: 'calendar.sync_failed',
        data: {
          calendar: {
            id: calendar.selectedCalendarId,
            userId: calendar.userId,
            credentialId: calendar.credentialId,
            provider: calendar.provider,
            externalCalendarId: calendar.externalCalendarId,
          },
          reason: 'mass_cancellation_held',
          message: brake.reason(held.length),
          holdId: recorded.held.holdId,
          count: recorded.held.count,
          bookingIds: held.map((h) => h.bookingId),
        },
      });
      toRecord = [...uncounted];
    }
    for (const link of toRecord) {
      await manager.query(`UPDATE "BookingReference" SET "deletedAt" = now(), "updatedAt" = now() WHERE "id" = $1`, [
        link.referenceId,
      ]);
      const payload = uncounted.has(link) ? { ignoredBy: 'applyCancellations' } : {};
      const changeId = await this.outbox(manager, link.bookingId, calendar, 'deleted', payload);
      domainEvents.push(new EventDeleted(changeId, link.bookingId, calendar.provider));
    }
    return recorded;
  }

  /**
   * The deletions that would cancel their booking: all of them when the calendar's user (the host
   * of every booking `findLinked` links to it) applies cancellations, none otherwise.
   */
  private async cancelling(manager: EntityManager, calendar: SyncedCalendar, deletions: LinkedRow[]): Promise<LinkedRow[]> {
    return (await this.preferences.forUser(calendar.userId, manager)).applyCancellations ? deletions : [];
  }

  /** Outbox rows whose command never ran (the process died after commit): their events again. */
  async pendingEvents(olderThanMs: number): Promise<ExternalEventDomainEvent[]> {
    const rows: PendingRow[] = await this.dataSource.query(
      `SELECT "id"::text AS id, "bookingId", "source", "kind", "payload" FROM "ExternalEventChange"
          WHERE "appliedAt" IS NULL AND "detectedAt" < clock_timestamp() - ($1::int * interval '1 millisecond')
          ORDER BY "id" LIMIT 500`,
      [olderThanMs],
    );
    return rows.map((row) => {
      switch (row.kind) {
        case 'rescheduled':
          return new EventRescheduled(row.id, row.bookingId, row.source, row.payload.startTime, row.payload.endTime);
        case 'deleted':
          return new EventDeleted(row.id, row.bookingId, row.source);
        case 'details':
          return new EventDetailsChanged(row.id, row.bookingId, row.source, row.payload);
        case 'attendees':
          return new EventAttendeesChanged(row.id, row.bookingId, row.source, row.payload.attendees);
      }
    });
  }

  private async findLinked(
    manager: EntityManager,
    calendar: SyncedCalendar,
    events: ExternalEvent[],
    lock = false,
  ): Promise<LinkedRow[]> {
    const ids = events.map((e) => e.id);
    const uids = [...new Set(events.map((e) => e.iCalUID).filter((u): u is string => Boolean(u)))];
    // Only the host's own calendars can change the host's booking: an attendee's copy of the event
    // (same iCalUID, another user) never matches.
    return preparedQuery(
      manager,
      `SELECT r."id" AS "referenceId", r."bookingId", r."credentialId", r."externalCalendarId", r."externalEventId",
              r."iCalUID", r."baseline", r."deletedAt", b."status", b."endTime",
              EXISTS (SELECT 1 FROM "SyncHoldChange" h WHERE h."bookingId" = r."bookingId" AND h."resolvedAt" IS NULL) AS "held"
         FROM "BookingReference" r JOIN "Booking" b ON b."id" = r."bookingId"
        WHERE b."userId" = $1
          AND ((r."credentialId" = $2 AND r."externalCalendarId" = $3 AND r."externalEventId" = ANY($4::text[]))
               OR r."iCalUID" = ANY($5::text[]))
        ${lock ? 'FOR UPDATE OF r' : ''}`,
      [calendar.userId, calendar.credentialId, calendar.externalCalendarId, ids, uids],
    );
  }

  private async relocate(manager: EntityManager, referenceId: number, credentialId: number, calendarId: string, eventId: string) {
    await manager.query(
      `UPDATE "BookingReference" SET "credentialId" = $2, "externalCalendarId" = $3, "externalEventId" = $4, "updatedAt" = now()
        WHERE "id" = $1`,
      [referenceId, credentialId, calendarId, eventId],
    );
  }

  private async saveBaseline(manager: EntityManager, referenceId: number, baseline: EventBaseline) {
    await preparedQuery(manager, `UPDATE "BookingReference" SET "baseline" = $2, "updatedAt" = now() WHERE "id" = $1`, [
      referenceId,
      JSON.stringify(baseline),
    ]);
  }

  /** Compares the booking's event with its baseline and records what the host changed (outbox rows, in `manager`'s transaction). */
  private async compare(
    manager: EntityManager,
    calendar: SyncedCalendar,
    link: LinkedRow,
    event: ExternalEvent,
    domainEvents: ExternalEventDomainEvent[],
  ): Promise<void> {
    if (!link.baseline) {
      await this.saveBaseline(manager, link.referenceId, baselineOf(event));
      return;
    }
    const changes = detectChanges(link.baseline, event);
    if (changes.stale) return;
    if (link.baseline.etag !== event.etag) await this.saveBaseline(manager, link.referenceId, baselineOf(event));
    if (changes.rescheduled) {
      const changeId = await this.outbox(manager, link.bookingId, calendar, 'rescheduled', changes.rescheduled, event.updated);
      domainEvents.push(
        new EventRescheduled(
          changeId,
          link.bookingId,
          calendar.provider,
          changes.rescheduled.startTime,
          changes.rescheduled.endTime,
          calendar.userId,
        ),
      );
    }
    if (changes.details) {
      const changeId = await this.outbox(manager, link.bookingId, calendar, 'details', changes.details, event.updated);
      domainEvents.push(new EventDetailsChanged(changeId, link.bookingId, calendar.provider, changes.details));
    }
    if (changes.attendees) {
      const changeId = await this.outbox(
        manager,
        link.bookingId,
        calendar,
        'attendees',
        { attendees: changes.attendees },
        event.updated,
      );
      domainEvents.push(new EventAttendeesChanged(changeId, link.bookingId, calendar.provider, changes.attendees));
    }
  }

  private async outbox(
    manager: EntityManager,
    bookingId: number,
    calendar: SyncedCalendar,
    kind: ExternalChangeKind,
    payload: object,
    updated: string | null = null,
  ): Promise<string> {
    // When the host made the change (the event's last-modified time), for ordering it against API
    // changes (see BookingChangeApplier.claimChange); unparseable or absent: unknown.
    const occurredAt = updated && !Number.isNaN(Date.parse(updated)) ? new Date(updated).toISOString() : null;
    const rows: Array<{ id: string }> = await preparedQuery(
      manager,
      `INSERT INTO "ExternalEventChange" ("bookingId", "selectedCalendarId", "source", "kind", "payload", "occurredAt")
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING "id"::text AS id`,
      [bookingId, calendar.selectedCalendarId, calendar.provider, kind, JSON.stringify(payload), occurredAt],
    );
    return rows[0].id;
  }
}
