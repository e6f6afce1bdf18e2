import { type ExternalEvent, removedEvent } from '../../providers/external-event.js';

/**
 * One entry per event id, the last copy of each, in the order of their last copies. A page may
 * repeat an entity (Graph's delta does, in no particular order): the last copy wins, as in the
 * cache. Without this a repeated removal or change of a booking's event was confirmed and
 * recorded once per copy (two outbox rows, two commands for one change).
 */
export function lastCopyById(events: ExternalEvent[]): ExternalEvent[] {
  const latest = new Map<string, ExternalEvent>();
  for (const event of events) {
    latest.delete(event.id);
    latest.set(event.id, event);
  }
  return latest.size === events.length ? events : [...latest.values()];
}

/** A booking's event a get no longer finds: it is gone, as if the listing had reported it deleted. */
export function cancelledPlaceholder(id: string): ExternalEvent {
  return removedEvent(id, 'deleted');
}

/**
 * Deletions wait for the run's last page, so the brake on mass cancellation judges the run's total
 * at once (a run that would cancel too many holds them all; none slips through on an earlier
 * page). A later copy of an event replaces its waiting deletion. Only the bookings side waits: the
 * cache drops a deleted event with its page. Nothing is lost if the run dies first: its cursor is
 * saved with the last page only, so the next run lists the deletions again. Returns the events
 * for the bookings side now: the page without its deletions, or on the last page every deletion
 * of the run and the page.
 */
export function deferDeletions(waiting: Map<string, ExternalEvent>, events: ExternalEvent[], last: boolean): ExternalEvent[] {
  for (const event of events) waiting.delete(event.id);
  if (last) {
    const all = [...waiting.values(), ...events];
    waiting.clear();
    return all;
  }
  const now: ExternalEvent[] = [];
  for (const event of events) {
    if (event.status === 'cancelled') waiting.set(event.id, event);
    else now.push(event);
  }
  return now;
}
