import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { EventBus, QueryBus } from '@nestjs/cqrs';
import { DataSource, type EntityManager } from 'typeorm';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { GetUserQuery } from '../../accounts/index.js';
import { ConnectionsService, CredentialAuthFactory } from '../../connections/index.js';
import { CalendarProviders } from '../../providers/calendar-provider.port.js';
import type { EventInput, ExternalEvent } from '../../providers/external-event.js';
import { isProviderError } from '../../providers/provider.errors.js';
import { type EventFields, fieldsOf } from '../../providers/changed-fields.js';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { WRITE_BOOKING_JOB, writeBookingJobOptions } from '../bookings.jobs.js';
import { type EventBaseline, baselineOf, guestsOf } from '../domain/event-baseline.js';
import { historyChangesKindSql } from '../domain/history-kinds.js';
import { ExternalChangeRecorder } from '../external-change.recorder.js';
import type { ExternalEventDomainEvent } from '../events/external-event.events.js';
import { AttendeeEntity } from '../entities/attendee.entity.js';
import { BookingReferenceEntity } from '../entities/booking-reference.entity.js';
import { BookingEntity } from '../entities/booking.entity.js';

/** How long after a write whose times the provider misplaced they are written again (`writeTimesAgain`). */
const MISPLACED_RETRY_MS = 5_000;

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
    private readonly recorder: ExternalChangeRecorder,
    private readonly eventBus: EventBus,
    private readonly jobs: JobQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.handle(WRITE_BOOKING_JOB, ({ bookingId }, { signal }) => this.run(bookingId, signal));
  }

  /**
   * `signal` aborts when the attempt outlives JOB_TIMEOUT_MS (its retry may already be running): the
   * attempt then stops before its next provider call. A call already sent is settled by the retry
   * (the create's idempotency key, the update's If-Match), and the reference's row lock keeps the
   * two attempts' database work apart.
   */
  async run(bookingId: number, signal?: AbortSignal): Promise<void> {
    const manager = this.dataSource.manager;
    const booking = await manager.findOneBy(BookingEntity, { id: bookingId });
    if (!booking) return;
    const reference = await manager.findOneBy(BookingReferenceEntity, { bookingId });

    if (booking.status === 'cancelled') {
      if (!reference) return this.withdrawUnrecordedCreate(booking);
      // The event is gone (the host deleted it, or this job did): an attempt to make it again
      // whose answer was lost may have left one, looked for once.
      if (reference.deletedAt) {
        return this.withdrawUnrecordedCreate(booking, { replaces: reference.externalEventId, lookAgain: false });
      }
      if (!reference.credentialId) return;
      const { credential, auth } = await this.credentials.open(reference.credentialId);
      if (credential.status !== 'active') return this.skip(bookingId, 'credential is no longer valid');
      signal?.throwIfAborted();
      await this.providers.get(reference.provider).deleteEvent(auth, reference.externalCalendarId, reference.externalEventId);
      await manager.update(BookingReferenceEntity, { id: reference.id }, { deletedAt: new Date() });
      return;
    }

    if (!reference || reference.deletedAt) {
      let target: BookingEntity = booking;
      if (reference?.deletedAt) {
        // The host deleted the event. While that deletion (or any calendar change) is recorded but
        // not applied, the booking is behind its event: creating the event now would bring back
        // what the host just deleted, for a booking the deletion is about to cancel (found by the
        // chaos run: an API reschedule's write landing between the sync's commit and the saga's).
        // Wait for it, as an update does below; then the booking is read again.
        const behindMs = await this.unappliedChangesAgeMs(manager, bookingId);
        if (behindMs !== null) return this.retryWhenApplied(bookingId, behindMs);
        const now = await manager.findOneBy(BookingEntity, { id: bookingId });
        if (!now || now.status !== 'accepted') return;
        target = now;
        if (await this.deletionKept(bookingId, reference.deletedAt)) {
          return this.skip(bookingId, 'the host deleted its event and applyCancellations is off: not recreated');
        }
      }
      const input = await this.desiredEvent(target);
      const destination = await this.connections.getDestinationCalendar(target.userId);
      if (!destination) return this.skip(bookingId, 'the host has no destination calendar');
      if (destination.credential.status !== 'active') return this.skip(bookingId, 'credential is no longer valid');
      const provider = this.providers.get(destination.credential.provider);
      const auth = this.credentials.authFor(destination.credential);
      signal?.throwIfAborted();
      const event = await provider.createEvent(auth, destination.destination.externalId, {
        ...input,
        idempotencyKey: target.uid,
        // Made again after the host deleted it: keyed apart from the first (see CreateEventInput).
        replaces: reference?.deletedAt ? reference.externalEventId : null,
      });
      // The booking's reference to the event just created, with the baseline it is settled against.
      const referenceRow = (baseline: EventBaseline) => ({
        bookingId,
        provider: provider.name,
        credentialId: destination.credential.id,
        externalCalendarId: destination.destination.externalId,
        externalEventId: event.id,
        iCalUID: event.iCalUID,
        baseline,
        deletedAt: null,
      });
      if (event.preexisting && !matches(baselineOf(event), input)) {
        // A retried create found the event its first attempt made, and it differs from the booking:
        // settled like a conflicting write, as if the first attempt had written the booking as it
        // is now (so every difference is the host's edit or the API's later change, by time).
        let recorded: ExternalEventDomainEvent[] = [];
        let misplaced = false;
        await this.dataSource.transaction(async (tx) => {
          await tx.upsert(BookingReferenceEntity, referenceRow(intendedBaseline(input)), ['bookingId']);
          const locked = await tx.findOne(BookingReferenceEntity, { where: { bookingId }, lock: { mode: 'pessimistic_write' } });
          if (!locked) return;
          const resolved = await this.resolveConflict(tx, target, locked, event, input);
          recorded = resolved.recorded;
          const written = resolved.write
            ? await provider.updateEvent(auth, locked.externalCalendarId, locked.externalEventId, resolved.write, {
                ifMatch: event.etag,
                guestsBefore: guestsOf(event),
                fieldsBefore: fieldsOf(event),
              })
            : event;
          await tx.update(BookingReferenceEntity, { id: locked.id }, { baseline: baselineOf(written) });
          misplaced = written.timesMisplaced === true;
        });
        for (const change of recorded) this.eventBus.publish(change);
        await this.withdrawIfCancelledMeanwhile(bookingId);
        if (misplaced) await this.writeTimesAgain(bookingId);
        return;
      }
      await manager.upsert(BookingReferenceEntity, referenceRow(baselineOf(event)), ['bookingId']);
      await this.withdrawIfCancelledMeanwhile(bookingId);
      if (event.timesMisplaced) await this.writeTimesAgain(bookingId);
      return;
    }

    if (!reference.credentialId) return this.skip(bookingId, 'the calendar credential was removed');
    const { credential, auth } = await this.credentials.open(reference.credentialId);
    if (credential.status !== 'active') return this.skip(bookingId, 'credential is no longer valid');
    const provider = this.providers.get(reference.provider);
    // The reference stays locked from reading its baseline to saving the new one: a sync reading
    // our own echo meanwhile waits here (the recorder locks the same row) and then finds the echo
    // equal to the new baseline, instead of taking it for the host's change against the old one.
    // The booking is read again under the lock: what is written is the booking as it is now.
    const { timeZone } = await this.queries.execute(new GetUserQuery(booking.userId));
    let recorded: ExternalEventDomainEvent[] = [];
    // Set when the booking is behind its event: how long the oldest unapplied change has waited.
    let behindMs: number | null = null;
    let misplaced = false;
    await this.dataSource.transaction(async (tx) => {
      const locked = await tx.findOne(BookingReferenceEntity, {
        where: { id: reference.id },
        lock: { mode: 'pessimistic_write' },
      });
      if (!locked || locked.deletedAt) return;
      // Calendar changes recorded but not yet applied: the booking is behind its event, so writing
      // it now would put back what the host just changed. The saga applies them in milliseconds
      // (or the outbox replay, after a crash); the write comes right after.
      behindMs = await this.unappliedChangesAgeMs(tx, bookingId);
      if (behindMs !== null) return;
      const now = await tx.findOneBy(BookingEntity, { id: bookingId });
      if (!now || now.status !== 'accepted') return;
      let desired = locked.baseline
        ? await this.keepIgnoredHostEdits(tx, bookingId, locked.baseline, await this.desiredEvent(now, tx, timeZone))
        : await this.desiredEvent(now, tx, timeZone);
      if (now.pendingChange && locked.baseline) {
        // A flagged conflicting reschedule waits for the host app: the event keeps the host's time
        // until it is accepted (nothing to write) or rejected (then the booking's time is written).
        desired = { ...desired, start: new Date(locked.baseline.start), end: new Date(locked.baseline.end) };
      }
      if (locked.baseline && matches(locked.baseline, desired)) return;
      const at = { calendarId: locked.externalCalendarId, eventId: locked.externalEventId };
      let event;
      try {
        // Based on the version calsync last saw: an edit the host made since is never silently overwritten.
        signal?.throwIfAborted();
        event = await provider.updateEvent(auth, at.calendarId, at.eventId, desired, {
          ifMatch: locked.baseline?.etag ?? null,
          guestsBefore: locked.baseline?.attendees ?? null,
          fieldsBefore: locked.baseline ? baselineFields(locked.baseline) : null,
        });
      } catch (error) {
        if (isProviderError(error, 'not_found') || isProviderError(error, 'gone')) {
          // Deleted in the calendar meanwhile; the sync turns that into a cancellation.
          return this.skip(bookingId, 'the event no longer exists in the calendar');
        }
        if (!isProviderError(error, 'precondition_failed') || !locked.baseline) throw error;
        signal?.throwIfAborted();
        const current = await provider.getEvent(auth, at.calendarId, at.eventId);
        if (!current || current.status === 'cancelled') return this.skip(bookingId, 'the event no longer exists in the calendar');
        const resolved = await this.resolveConflict(tx, now, locked, current, desired);
        recorded = resolved.recorded;
        if (!resolved.write) {
          this.logger.log(`Booking ${bookingId}: the host's later edit of its event stands; the booking follows it`);
          return;
        }
        signal?.throwIfAborted();
        event = await provider.updateEvent(auth, at.calendarId, at.eventId, resolved.write, {
          ifMatch: current.etag,
          guestsBefore: guestsOf(current),
          fieldsBefore: fieldsOf(current),
        });
      }
      await tx.update(BookingReferenceEntity, { id: locked.id }, { baseline: baselineOf(event) });
      misplaced = event.timesMisplaced === true;
    });
    // After commit (if the process dies first, the outbox replay publishes them).
    for (const change of recorded) this.eventBus.publish(change);
    if (behindMs !== null) await this.retryWhenApplied(bookingId, behindMs);
    if (misplaced) await this.writeTimesAgain(bookingId);
  }

  /**
   * A cancelled booking without a reference may still have an event: a create whose answer was lost
   * (a timeout, a crash before the reference was stored) made it, and the cancellation replaced the
   * create's retry. Its guests would keep the invitation, so it is looked up by the create's
   * idempotency key in the host's destination calendar and deleted. A look or delete that fails
   * fails the job, which retries.
   */
  private async withdrawUnrecordedCreate(
    booking: BookingEntity,
    { replaces = null, lookAgain = true }: { replaces?: string | null; lookAgain?: boolean } = {},
  ): Promise<void> {
    const destination = await this.connections.getDestinationCalendar(booking.userId);
    if (!destination || destination.credential.status !== 'active') return;
    const provider = this.providers.get(destination.credential.provider);
    const auth = this.credentials.authFor(destination.credential);
    const made = await provider.findCreated(auth, destination.destination.externalId, booking.uid, replaces);
    if (made) {
      await provider.deleteEvent(auth, destination.destination.externalId, made.id);
      this.logger.log(`Booking ${booking.id}: deleted the event an unanswered create made before the booking was cancelled`);
      return;
    }
    if (!lookAgain) return;
    // Nothing yet: a create whose answer was lost may still land (the provider was slow, not
    // down). Looked for again, every PROVIDER_TIMEOUT_MS (at least a second), for five of them
    // (at least ten seconds) after the cancellation.
    const pause = Math.max(1_000, this.config.providerTimeoutMs);
    if (Date.now() - booking.updatedAt.getTime() < Math.max(10_000, 5 * this.config.providerTimeoutMs)) {
      await this.jobs.enqueueJob(
        WRITE_BOOKING_JOB,
        { bookingId: booking.id },
        { ...writeBookingJobOptions(booking.id), delayMs: pause },
      );
    }
  }

  /**
   * The booking was cancelled while its event was being created (the cancellation's job found no
   * reference yet, or ran beside this attempt after JOB_TIMEOUT_MS abandoned it): the reference now
   * stored, a write job withdraws the event, durably, whatever becomes of this attempt.
   */
  private async withdrawIfCancelledMeanwhile(bookingId: number): Promise<void> {
    const now = await this.dataSource.manager.findOneBy(BookingEntity, { id: bookingId });
    if (now?.status !== 'cancelled') return;
    await this.jobs.enqueueJob(WRITE_BOOKING_JOB, { bookingId }, writeBookingJobOptions(bookingId));
  }

  /** How long the booking's oldest calendar change recorded but not yet applied has waited (null: none). */
  private async unappliedChangesAgeMs(manager: EntityManager, bookingId: number): Promise<number | null> {
    const pending: Array<{ ageMs: number | null }> = await manager.query(
      `SELECT (extract(epoch FROM clock_timestamp() - min("detectedAt")) * 1000)::float8 AS "ageMs"
         FROM "ExternalEventChange" WHERE "bookingId" = $1 AND "appliedAt" IS NULL`,
      [bookingId],
    );
    return pending[0]?.ageMs ?? null;
  }

  /**
   * The write again once the booking has caught up with its event: soon for a change the saga is
   * applying right now; less and less often for one that waits on the outbox replay (a crash), so
   * a stuck row never makes this job spin.
   */
  /**
   * The provider placed the event's times other than written and could not correct them
   * (`ExternalEvent.timesMisplaced`): the event is recorded as it is (so no sync takes it for the
   * host's edit), and a write a little later puts the booking's times again (a host edit meanwhile
   * is settled like any other). Queued rather than thrown: a change queued meanwhile under the
   * job's key would leave a failed attempt of this job used up for good.
   */
  private async writeTimesAgain(bookingId: number): Promise<void> {
    this.logger.warn(`Booking ${bookingId}: the calendar placed its event's times other than written; written again shortly`);
    await this.jobs.enqueueJob(
      WRITE_BOOKING_JOB,
      { bookingId },
      { ...writeBookingJobOptions(bookingId), delayMs: MISPLACED_RETRY_MS },
    );
  }

  private async retryWhenApplied(bookingId: number, behindMs: number): Promise<void> {
    const delayMs = Math.min(5_000, Math.max(300, behindMs / 10));
    await this.jobs.enqueueJob(WRITE_BOOKING_JOB, { bookingId }, { ...writeBookingJobOptions(bookingId), delayMs });
  }

  /**
   * The host edited the event since calsync last saw it (`base`), and the booking changed through
   * the API meanwhile. Field group by field group (times; title, description and location; guests),
   * the later intent wins, by the rule the outbox applies (`BookingChangeApplier.claimChange`):
   * the host's edit of a group stands unless an API change of that group was made after it. The
   * host's edit is recorded as calendar changes (outbox rows, in this transaction): those that
   * stand are applied to the booking, those that lose are in the history as `ignored`, so both
   * sides are there. What the API changed and the host did not is written; nothing else is
   * touched. Returns the event to write over the host's version, or null when it already is the
   * outcome.
   */
  private async resolveConflict(
    tx: EntityManager,
    booking: BookingEntity,
    reference: BookingReferenceEntity,
    current: ExternalEvent,
    desired: EventInput,
  ): Promise<{ write: EventInput | null; recorded: ExternalEventDomainEvent[] }> {
    const base = reference.baseline as EventBaseline;
    const host = baselineOf(current);
    const apiAt = await this.lastApiChanges(tx, booking.id);
    const hostAt = current.updated && !Number.isNaN(Date.parse(current.updated)) ? Date.parse(current.updated) : Date.now();
    const hostWins = (changed: boolean, group: keyof typeof apiAt) => changed && !(apiAt[group] > hostAt);

    const timesChanged = host.start !== base.start || host.end !== base.end;
    const guestKey = (list: EventBaseline['attendees']) =>
      list
        .map((a) => a.email)
        .sort()
        .join('\n');
    const guestsChanged = guestKey(host.attendees) !== guestKey(base.attendees);
    const detailChanged = {
      title: host.title !== base.title,
      description: host.description !== base.description,
      location: host.location !== base.location,
    };
    const detailsWin = hostWins(Object.values(detailChanged).some(Boolean), 'details');

    const write: EventInput = {
      ...desired,
      ...(hostWins(timesChanged, 'times') ? { start: current.start ?? desired.start, end: current.end ?? desired.end } : {}),
      ...(detailsWin && detailChanged.title ? { title: host.title } : {}),
      ...(detailsWin && detailChanged.description ? { description: host.description } : {}),
      ...(detailsWin && detailChanged.location ? { location: host.location } : {}),
      ...(hostWins(guestsChanged, 'attendees') ? { attendees: guestsOf(current) } : {}),
    };
    const { events } = await this.recorder.record(
      tx,
      {
        selectedCalendarId: null,
        userId: booking.userId,
        credentialId: reference.credentialId as number,
        provider: reference.provider,
        externalCalendarId: reference.externalCalendarId,
      },
      [current],
    );
    return { write: matches(host, write) ? null : write, recorded: events };
  }

  /**
   * A calendar change ignored because of the host's sync preferences leaves the booking and the
   * event different on purpose (the baseline is the host's version). For each field whose latest
   * intent is such an ignored host edit (no API change of that field since), the event keeps the
   * host's value: only what the API changed is written, and nothing is "fixed" back. A conflicting
   * reschedule reverted since (`reverted`: the conflict policy, or a flagged change rejected) is a
   * later intent for the times: they are written back.
   */
  private async keepIgnoredHostEdits(
    tx: EntityManager,
    bookingId: number,
    baseline: EventBaseline,
    desired: EventInput,
  ): Promise<EventInput> {
    const rows: Array<Record<string, boolean>> = await tx.query(
      `WITH h AS (SELECT "at", "action", "source", "changes" FROM "BookingHistory" WHERE "bookingId" = $1)
       SELECT ${KEPT_FIELDS.map(
         ([field, key, preference, apiAction]) =>
           `COALESCE((SELECT max("at") FROM h WHERE "action" = 'ignored' AND "changes"->>'preference' = '${preference}' AND "changes" ? '${key}')
                     > COALESCE((SELECT max("at") FROM h WHERE ("source" = 'api' AND "action" = '${apiAction}'
                                   ${apiAction === 'updated' ? `AND "changes" ? '${key}'` : ''})
                                   ${field === 'times' ? `OR "action" = 'reverted'` : ''}), '-infinity'), false) AS "${field}"`,
       ).join(', ')}`,
      [bookingId],
    );
    const keep = rows[0] ?? {};
    if (!Object.values(keep).some(Boolean)) return desired;
    return {
      ...desired,
      ...(keep.times ? { start: new Date(baseline.start), end: new Date(baseline.end) } : {}),
      ...(keep.title ? { title: baseline.title } : {}),
      ...(keep.description ? { description: baseline.description } : {}),
      ...(keep.location ? { location: baseline.location } : {}),
      ...(keep.attendees ? { attendees: baseline.attendees } : {}),
    };
  }

  /** The host deleted the booking's event and the deletion was ignored (applyCancellations off): the event stays deleted. */
  private async deletionKept(bookingId: number, deletedAt: Date): Promise<boolean> {
    const rows: Array<{ kept: boolean }> = await this.dataSource.query(
      `SELECT EXISTS (SELECT 1 FROM "BookingHistory" WHERE "bookingId" = $1 AND "action" = 'ignored'
                        AND "changes"->>'preference' = 'applyCancellations' AND "at" >= $2) AS kept`,
      [bookingId, deletedAt],
    );
    return rows[0]?.kept ?? false;
  }

  /**
   * When the booking last changed through the API, per field group: epoch milliseconds with the
   * microseconds PostgreSQL keeps as a fraction (0 = never). Not a `Date`: that would drop them,
   * and an API change made in the same millisecond as the host's edit (Google dates edits to the
   * millisecond) would then count as no later here while the outbox, comparing in SQL, counts it
   * as later (`BookingChangeApplier.claimChange`): each side would let the other win, leaving the
   * booking at the API's version and the event at the host's.
   */
  private async lastApiChanges(
    tx: EntityManager,
    bookingId: number,
  ): Promise<{ times: number; details: number; attendees: number }> {
    const epochMs = (kind: 'rescheduled' | 'details' | 'attendees') =>
      `COALESCE((extract(epoch FROM max(h."at") FILTER (WHERE ${historyChangesKindSql('h', kind)})) * 1000)::float8, 0)`;
    const rows: Array<{ times: number; details: number; attendees: number }> = await tx.query(
      `SELECT ${epochMs('rescheduled')} AS times, ${epochMs('details')} AS details, ${epochMs('attendees')} AS attendees
         FROM "BookingHistory" h WHERE h."bookingId" = $1 AND h."source" = 'api'`,
      [bookingId],
    );
    return { times: rows[0]?.times ?? 0, details: rows[0]?.details ?? 0, attendees: rows[0]?.attendees ?? 0 };
  }

  /**
   * The event as the booking says it should be. Inside a transaction, pass the host's `timeZone`
   * read before it: the user query takes a connection of its own, and a job holding one connection
   * while waiting for a second could exhaust the pool with its siblings.
   */
  private async desiredEvent(
    booking: BookingEntity,
    manager: EntityManager = this.dataSource.manager,
    timeZone?: string,
  ): Promise<EventInput> {
    const zone = timeZone ?? (await this.queries.execute(new GetUserQuery(booking.userId))).timeZone;
    const attendees = await manager.find(AttendeeEntity, { where: { bookingId: booking.id }, order: { id: 'ASC' } });
    return {
      title: booking.title,
      description: booking.description,
      location: booking.location,
      start: booking.startTime,
      end: booking.endTime,
      attendees: attendees.map((a) => ({ email: a.email, name: a.name })),
      timeZone: zone,
    };
  }

  private skip(bookingId: number, why: string): void {
    this.logger.warn(`Booking ${bookingId} not written to the calendar: ${why}`);
  }
}

/** Fields an ignored host edit can keep: [field, key in the history's changes, preference, API history action]. */
const KEPT_FIELDS = [
  ['times', 'to', 'applyReschedules', 'rescheduled'],
  ['title', 'title', 'applyDetails', 'updated'],
  ['description', 'description', 'applyDetails', 'updated'],
  ['location', 'location', 'applyDetails', 'updated'],
  ['attendees', 'attendees', 'applyAttendees', 'updated'],
] as const;

/** The baseline of an event as calsync means to write it (no provider version yet). */
function intendedBaseline(input: EventInput): EventBaseline {
  return {
    start: input.start.toISOString(),
    end: input.end.toISOString(),
    title: input.title,
    description: input.description || null,
    location: input.location || null,
    attendees: input.attendees
      .map((a) => ({ email: a.email.toLowerCase(), name: a.name }))
      .sort((a, b) => a.email.localeCompare(b.email)),
    etag: null,
    updated: null,
    sequence: null,
  };
}

function matches(baseline: EventBaseline, input: EventInput): boolean {
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

/** The event's own fields as the baseline recorded them (the version a write is based on). */
function baselineFields(baseline: EventBaseline): EventFields {
  return {
    title: baseline.title,
    description: baseline.description,
    location: baseline.location,
    start: new Date(baseline.start),
    end: new Date(baseline.end),
  };
}
