import type { ProviderName } from '../../../config/app-config.js';

/**
 * A sync run would have cancelled more of a user's upcoming bookings at once than
 * `SYNC_MASS_CANCEL_THRESHOLD` and held them for a person instead (hold `holdId`, `count`
 * bookings; see `GET /api/v1/admin/held-changes`). Published on the event bus after the run's
 * page committed. Its outgoing webhook type is `calendar.sync_failed` (`type`); outgoing webhooks
 * do not exist yet, and the issue that adds them delivers this event (nothing subscribes today but
 * the log and the `calsync_sync_holds_total` metric, which the sync run writes itself).
 */
export class CalendarSyncHeld {
  readonly type = 'calendar.sync_failed' as const;
  readonly reason = 'mass_cancellation_held' as const;

  constructor(
    readonly selectedCalendarId: number,
    readonly userId: number,
    readonly provider: ProviderName,
    readonly externalCalendarId: string,
    readonly holdId: number,
    readonly count: number,
    readonly threshold: number,
    readonly message: string,
  ) {}
}
