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

  /**
   * `record`, with the event's data built by SQL in one statement with the caller's own last
   * writes: one round trip where two or three would be, on a path every change takes.
   */
  abstract recordWith(manager: EntityManager, event: Omit<NewHostEvent, 'data'>, statement: HostEventStatement): Promise<void>;
}

/**
 * The caller's part of `recordWith`'s statement: `ctes`, its own common table expressions
 * (`name AS (…)`, comma-separated, without `WITH`; data-modifying ones run whatever reads them)
 * over `params` as $1…$n; `data`, an SQL expression of the event's data (jsonb) over the rows of
 * `from`. No row in `from`, no event.
 */
export interface HostEventStatement {
  ctes: string;
  params: unknown[];
  from: string;
  data: string;
}
