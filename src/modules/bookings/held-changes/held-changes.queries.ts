import { Query } from '@nestjs/cqrs';
import type { HeldChangesStatus, HeldChangesView } from './held-changes-view.js';

/**
 * Holds, newest first, each with its changes (`id`: that one only; `status`: only those;
 * `beforeId`/`limit`: one page of a keyset walk on id, descending).
 */
export class ListHeldChangesQuery extends Query<HeldChangesView[]> {
  constructor(readonly filter: { id?: number; status?: HeldChangesStatus; beforeId?: number; limit?: number } = {}) {
    super();
  }
}

/** A calendar with held changes nobody resolved yet. */
export interface CalendarHeldChanges {
  selectedCalendarId: number;
  /** Bookings whose cancellation waits for a person. */
  count: number;
  holdIds: number[];
}

/**
 * Read model: the calendars whose sync holds cancellations for a person, with how many.
 * - Owner: bookings (it owns "SyncHold" and "SyncHoldChange"). Answered by `HeldChangesQueriesHandler`.
 * - Read by: subscriptions (`GET /api/v1/admin/selected-calendars`: such a calendar's status is
 *   `held`, with the count).
 * - Reads: SyncHold `id`, `selectedCalendarId`, `resolvedAt`; SyncHoldChange `holdId`.
 */
export class CalendarsWithHeldChangesQuery extends Query<CalendarHeldChanges[]> {}
