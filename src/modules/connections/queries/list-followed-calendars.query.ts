import { Query } from '@nestjs/cqrs';
import type { CredentialEntity } from '../entities/credential.entity.js';
import type { SelectedCalendarEntity } from '../entities/selected-calendar.entity.js';

/**
 * A calendar calsync follows: its whole SelectedCalendar row (read-only: each column group is
 * written only by its owner), its credential's status, and whether it is its user's destination
 * calendar.
 */
export interface FollowedCalendar extends Readonly<SelectedCalendarEntity> {
  readonly credentialStatus: CredentialEntity['status'];
  readonly isDestination: boolean;
}

export interface FollowedCalendarsFilter {
  /** Only this calendar (none when it does not exist). */
  id?: number;
  /** Only calendars whose credential is still active. */
  activeCredentialsOnly?: boolean;
  /** Paging (a keyset on id): only calendars with a greater id, at most `limit` of them. */
  afterId?: number;
  limit?: number;
}

/**
 * Read model: the calendars calsync follows (every SelectedCalendar row, by id), with their
 * credential's status and destination flag, in one round trip.
 * - Owner: connections (it owns SelectedCalendar's identity, Credential and DestinationCalendar;
 *   the other column groups ride along, read-only). Answered by `ListFollowedCalendarsHandler`.
 * - Read by: subscriptions (`SubscribeCalendarsTask`: which calendars need a channel;
 *   `ResyncCalendarsTask`: which to sync; `AdminSyncController`: GET /api/v1/admin/selected-calendars).
 * - Reads: SelectedCalendar, every column (connections: identity and `busySource`; subscriptions:
 *   `channel*`, `syncSubscribedAt`, `nextSubscribeAttemptAt`; sync: cursor, error and cache
 *   columns); Credential (connections) `id`, `status`; DestinationCalendar (connections)
 *   `selectedCalendarId`.
 */
export class ListFollowedCalendarsQuery extends Query<FollowedCalendar[]> {
  constructor(readonly filter: FollowedCalendarsFilter = {}) {
    super();
  }
}
