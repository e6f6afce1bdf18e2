import { Module } from '@nestjs/common';
import { BookingsModule } from '../bookings/bookings.module.js';
import { ConnectionsModule } from '../connections/connections.module.js';
import { CalendarCacheRepository } from './calendar-cache.repository.js';
import { SyncCalendarJob } from './jobs/sync-calendar.job.js';
import { PendingChangesReplayer } from './pending-changes.replayer.js';
import { SyncCalendarService } from './sync-calendar.service.js';

@Module({
  imports: [ConnectionsModule, BookingsModule],
  providers: [SyncCalendarService, CalendarCacheRepository, PendingChangesReplayer, SyncCalendarJob],
  exports: [SyncCalendarService, CalendarCacheRepository, PendingChangesReplayer],
})
export class SyncModule {}
