import type { ExternalEvent } from '../../providers/external-event.js';
import type { MovedEvent, SyncedCalendar } from '../external-change.recorder.js';

/**
 * Where a booking's event lives now, asked by a sync run before it records a deletion: an event
 * the host moved to another of their calendars is deleted here but lives on there, and the
 * booking follows it instead of being cancelled. Owned and implemented by bookings (which knows
 * which events are bookings'); the sync module calls it. An abstract class so it doubles as the
 * injection token.
 */
export abstract class BookingEventLocator {
  /**
   * Of `events` (a page of `calendar`), the deletions of upcoming bookings' own events that live
   * on in another calendar the host can reach, by the deleted event's id. Events that only left
   * the listing's view are not deletions. Provider errors of a lookup count as "not there".
   */
  abstract findMoves(calendar: SyncedCalendar, events: ExternalEvent[]): Promise<Map<string, MovedEvent>>;
}
