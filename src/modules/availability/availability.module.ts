import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module.js';
import { SyncStateModule } from '../sync/sync-state.module.js';
import { AvailabilityController } from './availability.controller.js';
import { BusyCacheReader } from './busy-cache.reader.js';
import { LiveBusyReader } from './live-busy.reader.js';
import { GetBusyTimesHandler } from './queries/get-busy-times.handler.js';
import { GetConflictingBusyHandler } from './queries/get-conflicting-busy.handler.js';
import { ListCachedEventsHandler } from './queries/list-cached-events.handler.js';
import { StaleCacheResyncer } from './stale-cache.resyncer.js';

/** Reads only: calendars through connections' read model, the cache through sync's, the rest live. */
@Module({
  imports: [ConnectionsModule, SyncStateModule],
  controllers: [AvailabilityController],
  providers: [
    GetBusyTimesHandler,
    GetConflictingBusyHandler,
    ListCachedEventsHandler,
    BusyCacheReader,
    LiveBusyReader,
    StaleCacheResyncer,
  ],
})
export class AvailabilityModule {}
