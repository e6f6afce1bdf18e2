import { Injectable } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { PendingExternalChanges } from '../bookings/ports/pending-external-changes.port.js';

/** How long a recorded change may wait for its command before it is published again. */
const REPLAY_GRACE_MS = 5000;

/**
 * The event bus is in memory: a change recorded just before the process died never reached its
 * saga. Such outbox rows are published again; the commands apply each at most once.
 *
 * Listed in `sync/index.ts`, so it reaches bookings only through the port (bound in SyncModule),
 * never through bookings' index and Nest module: a module SyncModule imports may import the index.
 */
@Injectable()
export class PendingChangesReplayer {
  private lastLookAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly pending: PendingExternalChanges,
    private readonly eventBus: EventBus,
  ) {}

  async replay(graceMs = REPLAY_GRACE_MS): Promise<number> {
    this.lastLookAt = performance.now();
    const events = await this.pending.pendingEvents(graceMs);
    for (const event of events) this.eventBus.publish(event);
    return events.length;
  }

  /**
   * `replay`, at most once per grace period on this instance: after every sync run this costs a
   * query only now and then, and a change left behind still waits no longer than about twice
   * the grace period (the resync task replays as well).
   */
  async replayIfDue(): Promise<number> {
    if (performance.now() - this.lastLookAt < REPLAY_GRACE_MS) return 0;
    return this.replay();
  }
}
