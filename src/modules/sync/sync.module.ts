import { Module } from '@nestjs/common';
import { BookingsModule } from '../bookings/bookings.module.js';
import { ConnectionsModule } from '../connections/connections.module.js';
import { SyncCalendarJob } from './jobs/sync-calendar.job.js';
import { PendingChangesReplayer } from './pending-changes.replayer.js';
import { SyncCalendarService } from './sync-calendar.service.js';
import { SyncPageApplier } from './sync-page.applier.js';
import { SyncStateModule } from './sync-state.module.js';

/**
 * Keeps calendars in step with their providers. Re-exports SyncStateModule (the ports to sync's
 * columns and cache, and its read models); modules that SyncModule imports use that one directly.
 */
@Module({
  imports: [ConnectionsModule, BookingsModule, SyncStateModule],
  providers: [SyncCalendarService, SyncPageApplier, PendingChangesReplayer, SyncCalendarJob],
  exports: [SyncCalendarService, PendingChangesReplayer, SyncStateModule],
})
export class SyncModule {}
