import type { LogFields } from '../../infrastructure/logging/logging.js';
import type { SyncedCalendar } from '../bookings/index.js';
import type { SelectedCalendarRecord } from '../connections/index.js';
import type { CalendarProvider } from '../providers/calendar-provider.port.js';
import type { ProviderAuth } from '../providers/provider-auth.js';
import type { CacheWindow } from './calendar-cache.repository.js';

/** A sync run of one calendar, loaded and planned: what every step of `SyncCalendarService` works from. */
export interface SyncRun {
  calendar: SelectedCalendarRecord;
  /** The calendar as the bookings side knows it. */
  synced: SyncedCalendar;
  provider: CalendarProvider;
  auth: ProviderAuth;
  window: CacheWindow;
  /** The plan (`planSync`): a full listing that reconciles, or changes since the cursor. */
  full: boolean;
  /** The owner's cache flag is on and the calendar is a busy source. */
  writeCache: boolean;
  /** The owner's sync flag is on: booking changes are recorded. */
  syncOn: boolean;
  /** Cached rows a full listing did not touch since then are gone (see `removeNotSeenSince`). */
  startedAt: Date;
  /** The job's signal (its timeout, or shutdown): checked before every page, so an abandoned run stops there. */
  signal?: AbortSignal;
  /** `calendarId`, and the job's `jobId`/`task`: what the run logs carries them. */
  logFields?: LogFields;
}
