import type { ExternalEventDomainEvent } from '../events/external-event.events.js';

/**
 * The changes seen in calendars (outbox rows of ExternalEventChange) whose booking command never
 * ran: the event bus is in memory, so a change recorded just before the process died never reached
 * its saga. Owned by bookings and implemented by `ExternalChangeRecorder` (which BookingsModule
 * exports); the sync module's `PendingChangesReplayer` publishes them again, and the commands apply
 * each row at most once. A module that imports BookingsModule binds it with
 * `{ provide: PendingExternalChanges, useExisting: ExternalChangeRecorder }`.
 *
 * Its own file, importing only types, so that loading it (as `sync/index.ts` does, through the
 * replayer) never loads bookings' Nest module and what that imports. An abstract class so it
 * doubles as the injection token.
 */
export abstract class PendingExternalChanges {
  /** Outbox rows not applied and recorded more than `olderThanMs` ago (at most 500, oldest first), as their events again. */
  abstract pendingEvents(olderThanMs: number): Promise<ExternalEventDomainEvent[]>;
}
