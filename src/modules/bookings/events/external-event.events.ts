import type { ProviderName } from '../../../config/app-config.js';

/**
 * Domain events the sync emits for booking-linked calendar events, after the change is recorded
 * durably (outbox row `changeId`). Sagas turn them into booking commands.
 */
export class EventRescheduled {
  constructor(
    readonly changeId: string,
    readonly bookingId: number,
    readonly source: ProviderName,
    readonly startTime: string,
    readonly endTime: string,
    /** The owner of the calendar the change was read from: most likely the booking's host (a hint). */
    readonly calendarUserId?: number,
  ) {}
}

export class EventDeleted {
  constructor(
    readonly changeId: string,
    readonly bookingId: number,
    readonly source: ProviderName,
  ) {}
}

export class EventDetailsChanged {
  constructor(
    readonly changeId: string,
    readonly bookingId: number,
    readonly source: ProviderName,
    readonly details: { title?: string; description?: string | null; location?: string | null },
  ) {}
}

export class EventAttendeesChanged {
  constructor(
    readonly changeId: string,
    readonly bookingId: number,
    readonly source: ProviderName,
    readonly attendees: Array<{ email: string; name: string | null }>,
  ) {}
}

export type ExternalEventDomainEvent = EventRescheduled | EventDeleted | EventDetailsChanged | EventAttendeesChanged;
