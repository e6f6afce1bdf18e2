import { Injectable } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { ExternalChangeRecorder } from '../bookings/external-change.recorder.js';

/** How long a recorded change may wait for its command before it is published again. */
const GRACE_MS = 5000;

/**
 * The event bus is in memory: a change recorded just before the process died never reached its
 * saga. Such outbox rows are published again; the commands apply each at most once.
 */
@Injectable()
export class PendingChangesReplayer {
  constructor(
    private readonly recorder: ExternalChangeRecorder,
    private readonly eventBus: EventBus,
  ) {}

  async replay(graceMs = GRACE_MS): Promise<number> {
    const events = await this.recorder.pendingEvents(graceMs);
    for (const event of events) this.eventBus.publish(event);
    return events.length;
  }
}
