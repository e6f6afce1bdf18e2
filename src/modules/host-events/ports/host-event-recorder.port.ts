import type { EntityManager } from 'typeorm';

/** Every event type a host can receive (webhooks, change feed, extension modules). */
export const HOST_EVENT_TYPES = [
  'booking.created',
  'booking.rescheduled',
  'booking.cancelled',
  'booking.updated',
  'booking.conflict',
  'calendar.sync_failed',
  'credential.invalidated',
] as const;

export type HostEventType = (typeof HOST_EVENT_TYPES)[number];

export interface NewHostEvent {
  type: HostEventType;
  /** The event's `data`: for booking events `{booking, source, changes: {<field>: {from, to}}}`. */
  data: Record<string, unknown>;
  /** The booking the event is about: its events reach each endpoint in the order they happened. */
  bookingId?: number | null;
}

/**
 * The host-events module's port: records what changed for the host product (the outbox of outgoing
 * webhooks, the change feed and extension modules). Always called with the `manager` of the
 * transaction that makes the change, so the event commits exactly when the change does: no change
 * without its event, no event without its change.
 */
export abstract class HostEventRecorder {
  abstract record(manager: EntityManager, event: NewHostEvent): Promise<{ id: string }>;
}
