import { Module } from '@nestjs/common';
import { CalendarCacheRepository } from './calendar-cache.repository.js';
import { CalendarCache } from './ports/calendar-cache.port.js';
import { SyncStateStore } from './ports/sync-state-store.port.js';
import { CachedBusyEventsReadModel } from './read-models/cached-busy-events.read-model.js';
import { CachedBusyTimelinesReadModel } from './read-models/cached-busy-timelines.read-model.js';
import { CachedEventsReadModel } from './read-models/cached-events.read-model.js';
import { SyncStateRepository } from './sync-state.repository.js';

/**
 * What the sync module owns in the database, for everyone: the ports to its SelectedCalendar
 * columns (`SyncStateStore`) and to the busy-time cache (`CalendarCache`), and its read models
 * over the cache. It imports nothing (the DataSource is global), so modules that SyncModule
 * itself imports (connections, bookings) can import this one without a cycle.
 */
@Module({
  providers: [
    CalendarCacheRepository,
    SyncStateRepository,
    { provide: CalendarCache, useExisting: CalendarCacheRepository },
    { provide: SyncStateStore, useExisting: SyncStateRepository },
    CachedBusyTimelinesReadModel,
    CachedBusyEventsReadModel,
    CachedEventsReadModel,
  ],
  exports: [
    CalendarCache,
    SyncStateStore,
    CalendarCacheRepository,
    CachedBusyTimelinesReadModel,
    CachedBusyEventsReadModel,
    CachedEventsReadModel,
  ],
})
export class SyncStateModule {}
