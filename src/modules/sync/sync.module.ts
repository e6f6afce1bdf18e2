import { Module } from '@nestjs/common';
import { BookingsModule, ExternalChangeRecorder } from '../bookings/index.js';
import { PendingExternalChanges } from '../bookings/ports/pending-external-changes.port.js';
import { ConnectionsModule } from '../connections/connections.module.js';
import { SyncCalendarJob } from './jobs/sync-calendar.job.js';
import { PendingChangesReplayer } from './pending-changes.replayer.js';
import { CalendarToSyncReadModel } from './read-models/calendar-to-sync.read-model.js';
import { SyncCalendarService } from './sync-calendar.service.js';
import { SyncPageApplier } from './sync-page.applier.js';
import { SyncStateModule } from './sync-state.module.js';

/**
 * Keeps calendars in step with their providers. Re-exports SyncStateModule (the ports to sync's
 * columns and cache, and its read models); modules that SyncModule imports use that one directly.
 * Bookings' `PendingExternalChanges` port is bound here to the `ExternalChangeRecorder` that
 * BookingsModule exports (the same instance), for PendingChangesReplayer.
 */
@Module({
  imports: [ConnectionsModule, BookingsModule, SyncStateModule],
  providers: [
    SyncCalendarService,
    SyncPageApplier,
    PendingChangesReplayer,
    SyncCalendarJob,
    CalendarToSyncReadModel,
    { provide: PendingExternalChanges, useExisting: ExternalChangeRecorder },
  ],
  exports: [SyncCalendarService, PendingChangesReplayer, SyncStateModule],
})
export class SyncModule {}
