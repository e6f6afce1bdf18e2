import { Injectable } from '@nestjs/common';
import type { HostEventType } from './ports/host-event-recorder.port.js';

/** An event as webhooks deliver it and the change feed lists it. */
export interface HostEventEnvelope {
  /** Stable across retries and redeliveries: the key to deduplicate on. */
  id: string;
  type: HostEventType;
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * `signal` fires when the run's attempt is abandoned (`JOB_TIMEOUT_MS`, shutdown): hand it to the
 * queries and requests the handler makes, so they stop too. No later event is handed to an
 * abandoned run, and no other run of the consumer starts while one is still going.
 */
export type HostEventHandler = (event: HostEventEnvelope, context: { signal: AbortSignal }) => Promise<void>;

export interface HostEventConsumer {
  name: string;
  types: ReadonlySet<HostEventType> | null;
  handler: HostEventHandler;
}

/**
 * The extension point: a Nest module of your own reacts to calsync's events durably. Register in
 * `onModuleInit`:
 *
 * ```ts
 * constructor(private readonly hostEvents: HostEventSubscriptions) {}
 * onModuleInit() {
 *   this.hostEvents.onHostEvent('audit-trail', ['booking.rescheduled'], (event) => this.record(event));
 * }
 * ```
 *
 * Each consumer (its `name` is its identity: keep it stable) walks the same outbox as the change
 * feed, in commit order, from a position stored in the database, in a durable job: at least once
 * (a handler that throws is retried with backoff, and the events after it wait), never lost when the
 * process dies. Handlers must be idempotent: deduplicate on `event.id`.
 */
@Injectable()
export class HostEventSubscriptions {
  private readonly consumers = new Map<string, HostEventConsumer>();

  onHostEvent(name: string, types: HostEventType[] | '*', handler: HostEventHandler): void {
    if (!/^[a-z0-9][a-z0-9._-]{0,99}$/i.test(name)) throw new Error(`Host event consumer name "${name}" is not valid`);
    if (this.consumers.has(name)) throw new Error(`Host event consumer "${name}" registered twice`);
    this.consumers.set(name, { name, types: types === '*' ? null : new Set(types), handler });
  }

  get(name: string): HostEventConsumer | undefined {
    return this.consumers.get(name);
  }

  all(): HostEventConsumer[] {
    return [...this.consumers.values()];
  }

  /** The consumers that want events of this type. */
  interestedIn(type: string): HostEventConsumer[] {
    return this.all().filter((c) => !c.types || c.types.has(type as HostEventType));
  }
}
