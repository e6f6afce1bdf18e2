import { Injectable } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { DataSource, EntityManager } from 'typeorm';
import { type IdempotencyTicket, IdempotencyStore } from '../../common/idempotency/index.js';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import type { ProviderName } from '../../config/app-config.js';
import { type ApplyField, type ConflictPolicy, SyncPreferencesService } from '../sync-preferences/index.js';
import type { BookingChangeOutcome } from './booking-change-outcome.js';
import { BookingCancelledError, BookingNotFoundError } from './bookings.errors.js';
import { BookingsRepository, markChangeApplied } from './bookings.repository.js';
import { preparedQuery } from '../../infrastructure/database/prepared-query.js';
import type { ChangeSource, HistoryAction } from './entities/booking-history.entity.js';
import { BookingEntity, type PendingChange } from './entities/booking.entity.js';
import { historyChangesKindSql } from './domain/history-kinds.js';
import type { ExternalChangeKind } from './entities/external-event-change.entity.js';
import { type Conflict, conflictWith, isConflict } from './conflicts/conflict-detector.js';

/** The sync preference that lets a calendar change of each kind through. */
const PREFERENCE_OF: Record<ExternalChangeKind, ApplyField> = {
  rescheduled: 'applyReschedules',
  deleted: 'applyCancellations',
  details: 'applyDetails',
  attendees: 'applyAttendees',
};

/**
 * Which fields of a calendar change still stand (details only: a row names just the fields the host
 * changed, and a newer change supersedes only the fields it names too); absent: all of them.
 */
export interface ChangeScope {
  fields?: readonly string[];
}

export interface ChangeDecision {
  /** null: nothing to do (already in that state, or a rule refuses it). */
  action: HistoryAction | null;
  reason?: string;
  changes?: Record<string, unknown>;
  apply?: (manager: EntityManager, booking: BookingEntity) => Promise<void>;
  /** `apply` updates the booking's row (its UPDATE moves "updatedAt" already). */
  updatesRow?: boolean;
  event?: () => object;
  /**
   * What the change's new time overlaps (reschedules only; null when not checked). A calendar
   * reschedule that conflicts goes by the host's `conflictPolicy`.
   */
  conflict?: Conflict | null;
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
    private readonly idempotency: IdempotencyStore,
    private readonly preferences: SyncPreferencesService,
  ) {}

  async apply(
    bookingId: number,
    source: ChangeSource,
    /** The outbox row a calendar change applies; an API change's `Idempotency-Key`, when the request had one. */
    { changeId, idempotency }: { changeId?: string; idempotency?: IdempotencyTicket },
    decide: (booking: BookingEntity, manager: EntityManager, scope?: ChangeScope) => ChangeDecision | Promise<ChangeDecision>,
  ): Promise<BookingChangeOutcome> {
    let event: object | undefined;
    let action: HistoryAction | null = null;
    // With an Idempotency-Key (an API change), the key is claimed and the answer (the booking as
    // this transaction leaves it) stored in this transaction.
    const outcome = await this.dataSource.transaction((manager) =>
      this.idempotency.within(
        manager,
        idempotency,
        async () => this.bookings.view(bookingId, manager),
        async (): Promise<BookingChangeOutcome> => {
          // The host's deletion of an event whose move was pending clears it; the host app hears
          // of that (booking.updated) unless the deletion cancels the booking, whose own event says it.
          let clearedByDeletion: PendingChange | null = null;
          const result = await (async (): Promise<BookingChangeOutcome> => {
            const booking = await this.bookings.lockBooking(manager, bookingId);
            if (!booking) {
              if (changeId) await markChangeApplied(manager, changeId, 'booking missing');
              throw new BookingNotFoundError(bookingId);
            }
            let kind: ExternalChangeKind | null = null;
            let scope: ChangeScope | undefined;
            let partlySuperseded: string[] = [];
            // A preference the recorder already judged the change by (see ExternalChangeRecorder.record).
            let ignoredByRecorder: string | null = null;
            if (changeId) {
              const {
                claim,
                kind: claimedKind,
                liveFields,
                supersededFields,
                ignoredBy,
              } = await this.claimChange(manager, changeId);
              kind = claimedKind;
              ignoredByRecorder = ignoredBy ?? null;
              if (liveFields) scope = { fields: liveFields };
              if (claim === 'taken') return { bookingId, changed: false, reason: 'already applied' };
              const pending = booking.pendingChange;
              // The host moved the event again: the held change is replaced by this one, evaluated
              // anew. Or deleted it: there is no event left to accept or reject the move of (and a
              // deletion ignored by the host's preferences would otherwise leave it pending for good).
              if (pending && (kind === 'rescheduled' || (kind === 'deleted' && claim !== 'superseded'))) {
                booking.pendingChange = null;
                await manager.save(booking);
                if (kind === 'deleted') clearedByDeletion = pending;
                else await this.bookings.recordPendingChangeCleared(manager, bookingId, source, pending);
              }
              if (claim === 'superseded') {
                // Not applied, but not lost either: the history shows the host's change as ignored.
                await this.recordSuperseded(manager, booking, source, await decide(booking, manager));
                await markChangeApplied(manager, changeId, 'ignored: superseded by a newer change');
                return { bookingId, changed: false, reason: 'superseded by a newer change' };
              }
              partlySuperseded = supersededFields ?? [];
            }
            if (source !== 'api' && booking.endTime.getTime() <= Date.now()) {
              if (changeId) await markChangeApplied(manager, changeId, 'ignored: booking already ended');
              return { bookingId, changed: false, reason: 'booking already ended' };
            }
            if (partlySuperseded.length > 0) {
              // Some of the fields only: those are shown as ignored, the rest goes ahead.
              await this.recordSuperseded(manager, booking, source, await decide(booking, manager, { fields: partlySuperseded }));
            }
            const decision = await decide(booking, manager, scope);
            if (!decision.action || !decision.apply) {
              if (changeId) await markChangeApplied(manager, changeId, `ignored: ${decision.reason ?? 'no change'}`);
              return { bookingId, changed: false, reason: decision.reason ?? 'no change' };
            }
            let conflictPolicy: ConflictPolicy | null = null;
            if (source !== 'api' && kind) {
              // The host's sync preferences: a calendar change of a kind switched off is not applied.
              // The recorder already took the host's version of the event as the baseline, so the
              // event stays as the host made it; the write job keeps it so (see WriteBookingJob).
              const preference = PREFERENCE_OF[kind];
              const preferences = await this.preferences.forUser(booking.userId, manager);
              conflictPolicy = preferences.conflictPolicy;
              if (!preferences[preference] || ignoredByRecorder === preference) {
                const reason = preferences[preference]
                  ? `preference ${preference} was off when the change was seen`
                  : `preference ${preference} is off`;
                await this.bookings.addHistory(manager, bookingId, 'ignored', source, {
                  ...(decision.changes ?? {}),
                  preference,
                });
                if (changeId) await markChangeApplied(manager, changeId, `ignored: ${reason}`);
                action = 'ignored';
                return { bookingId, changed: false, reason };
              }
            }
            const conflict =
              kind === 'rescheduled' && isConflict(decision.conflict ?? null) ? (decision.conflict as Conflict) : null;
            if (conflict && conflictPolicy && conflictPolicy !== 'accept') {
              // revert / flag: the booking keeps its time. The host app hears of it either way.
              const changes = { ...(decision.changes ?? {}), policy: conflictPolicy, conflict: conflictWith(conflict) };
              if (conflictPolicy === 'revert') {
                // Moved back like an API change: through the write job, based on the host's version
                // (the baseline the recorder saved), so its echo changes nothing, and a host edit
                // made meanwhile wins the write's 412 and is evaluated as a change of its own.
                await this.bookings.addHistory(manager, bookingId, 'reverted', source, changes);
                await this.bookings.enqueueCalendarWrite(manager, bookingId);
              } else {
                // The event stays where the host put it (the write job keeps it so while pending).
                const to = (decision.changes?.to ?? {}) as { startTime: string; endTime: string };
                booking.pendingChange = { startTime: to.startTime, endTime: to.endTime, source: source as ProviderName };
                await manager.save(booking);
              }
              await manager.query(`UPDATE "Booking" SET "updatedAt" = now() WHERE "id" = $1`, [bookingId]);
              await this.bookings.recordConflict(manager, bookingId, source, decision.changes ?? {}, conflictPolicy, conflict);
              const outcome = conflictPolicy === 'revert' ? 'reverted' : 'flagged';
              if (changeId) await markChangeApplied(manager, changeId, `${outcome}: conflict`);
              action = conflictPolicy === 'revert' ? 'reverted' : null;
              return { bookingId, changed: false, reason: `conflict: ${outcome}` };
            }
            await decision.apply(manager, booking);
            // Every applied change moves the booking's "updatedAt" (an attendee edit does not touch the
            // row itself): `GET /api/v1/bookings?updatedSince=` finds it.
            if (!decision.updatesRow)
              await manager.query(`UPDATE "Booking" SET "updatedAt" = now() WHERE "id" = $1`, [bookingId]);
            // The outbox row is marked applied by the history entry's statement.
            const settles = changeId
              ? { changeId, outcome: conflict && conflictPolicy ? 'applied: conflict' : 'applied' }
              : undefined;
            await this.bookings.addHistory(manager, bookingId, decision.action, source, decision.changes ?? {}, settles);
            if (source === 'api') await this.bookings.enqueueCalendarWrite(manager, bookingId);
            if (conflict && conflictPolicy === 'accept') {
              await this.bookings.recordConflict(manager, bookingId, source, decision.changes ?? {}, 'accept', conflict);
            }
            event = decision.event?.();
            action = decision.action;
            return { bookingId, changed: true };
          })();
          if (clearedByDeletion && action !== 'cancelled') {
            await this.bookings.recordPendingChangeCleared(manager, bookingId, source, clearedByDeletion);
          }
          return result;
        },
      ),
    );
    if (action) this.metrics.bookingChanges.inc({ action, source });
    if (event) this.eventBus.publish(event);
    return outcome;
  }

  /** A calendar change (or some of its fields) a newer one superseded, in the history as ignored. */
  private async recordSuperseded(
    manager: EntityManager,
    booking: BookingEntity,
    source: ChangeSource,
    skipped: ChangeDecision,
  ): Promise<void> {
    if (!skipped.action || !skipped.changes) return;
    await this.bookings.addHistory(manager, booking.id, 'ignored', source, {
      ...skipped.changes,
      reason: 'superseded by a later change',
    });
  }

  /** Refuses API changes to a cancelled booking; provider changes to it are just ignored. */
  static refuseIfCancelled(booking: BookingEntity, source: ChangeSource): ChangeDecision | null {
    if (booking.status !== 'cancelled') return null;
    if (source === 'api') throw new BookingCancelledError(booking.id);
    return { action: null, reason: 'booking is cancelled' };
  }

  /**
   * Takes the outbox row for this transaction. A change must never be applied over a newer one:
   * `superseded` when the booking has a newer recorded calendar change of that kind (or a
   * deletion), ordered by outbox id (a row replayed late: the process died, a deploy closed the
   * pool); when an API change of that kind (the same fields) was made after the host made this
   * one, by the event's own last-modified time (`occurredAt`; the time it was noticed when the
   * provider gave none), so a push that arrives late never undoes a later API change; or when the
   * booking was cancelled after this change was noticed. The calendar shows, or is about to show,
   * the newer state (the newer change's own write or echo).
   *
   * A details row names only the fields the host changed (the other fields were as the booking
   * had them), so it is superseded field by field: a newer details row or API change supersedes
   * the fields it names, and the others still apply (`liveFields`; `supersededFields` the rest).
   * A rename followed by a new location, the location applied first, still renames the booking.
   */
  private async claimChange(
    manager: EntityManager,
    changeId: string,
  ): Promise<{
    claim: 'claimed' | 'taken' | 'superseded';
    kind: ExternalChangeKind | null;
    liveFields?: string[];
    supersededFields?: string[];
    ignoredBy?: string | null;
  }> {
    const rows: Array<{
      superseded: boolean;
      kind: ExternalChangeKind;
      fields: string[] | null;
      liveFields: string[] | null;
      ignoredBy: string | null;
    }> = await preparedQuery(
      manager,
      `SELECT c."kind", EXISTS (SELECT 1 FROM "ExternalEventChange" n
                         WHERE n."bookingId" = c."bookingId" AND n."id" > c."id"
                           AND ((n."kind" = c."kind" AND c."kind" <> 'details') OR n."kind" = 'deleted'))
             OR EXISTS (SELECT 1 FROM "BookingHistory" h
                         WHERE h."bookingId" = c."bookingId"
                           AND ((h."action" = 'cancelled' AND h."at" > c."detectedAt")
                                OR (h."source" = 'api' AND h."at" > COALESCE(c."occurredAt", c."detectedAt")
                                    AND ((c."kind" = 'rescheduled' AND ${historyChangesKindSql('h', 'rescheduled')})
                                         OR (c."kind" = 'attendees' AND ${historyChangesKindSql('h', 'attendees')}))))) AS superseded,
                CASE WHEN c."kind" = 'details' THEN ARRAY(SELECT jsonb_object_keys(c."payload")) END AS fields,
                CASE WHEN c."kind" = 'details' THEN ARRAY(
                  SELECT f FROM jsonb_object_keys(c."payload") f
                   WHERE NOT EXISTS (SELECT 1 FROM "ExternalEventChange" n
                                      WHERE n."bookingId" = c."bookingId" AND n."id" > c."id" AND n."kind" = 'details' AND n."payload" ? f)
                     AND NOT EXISTS (SELECT 1 FROM "BookingHistory" h
                                      WHERE h."bookingId" = c."bookingId" AND h."source" = 'api' AND h."action" = 'updated'
                                        AND h."at" > COALESCE(c."occurredAt", c."detectedAt") AND h."changes" ? f)) END AS "liveFields",
                c."payload"->>'ignoredBy' AS "ignoredBy"
           FROM "ExternalEventChange" c
          WHERE c."id" = $1 AND c."appliedAt" IS NULL
            FOR UPDATE OF c SKIP LOCKED`,
      [changeId],
    );
    if (rows.length === 0) return { claim: 'taken', kind: null };
    const [{ kind, superseded, fields, liveFields, ignoredBy }] = rows;
    if (!fields || !liveFields) return { claim: superseded ? 'superseded' : 'claimed', kind, ignoredBy };
    const supersededFields = fields.filter((f) => !liveFields.includes(f));
    if (superseded || liveFields.length === 0) return { claim: 'superseded', kind };
    return { claim: 'claimed', kind, liveFields, supersededFields };
  }
}
