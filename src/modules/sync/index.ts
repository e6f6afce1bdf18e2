/**
 * The sync module's public surface, besides `sync.module.ts`, `sync-state.module.ts`, `sync.jobs.ts`,
 * the ports in `ports/` and the read models in `read-models/`. Tables: "CalendarCacheEvent", and
 * SelectedCalendar's cursor, error and cache columns (others write them through `SyncStateStore`).
 *
 * Nothing listed here loads SyncModule or SyncCalendarService (which load connections' and
 * bookings' Nest modules and services), so those modules may import this file without a cycle;
 * SyncModule is imported from `sync.module.ts`. `PendingChangesReplayer` reaches bookings only
 * through its `PendingExternalChanges` port (a file of types), never through bookings' index.
 */
export { CalendarSyncHeld } from './events/calendar-sync-held.event.js';
export { CalendarCache } from './ports/calendar-cache.port.js';
export { type SyncCheckpoint, SyncStateStore } from './ports/sync-state-store.port.js';
export { PendingChangesReplayer } from './pending-changes.replayer.js';
export { SyncStateModule } from './sync-state.module.js';
export { cacheWindow } from './sync.constants.js';
export { SYNC_CALENDAR_JOB, type SyncCalendarPayload, syncJobOptions } from './sync.jobs.js';
