import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { PendingChangesReplayer } from '../pending-changes.replayer.js';
import { SyncCalendarService } from '../sync-calendar.service.js';
import { SYNC_CALENDAR_JOB } from '../sync.jobs.js';

/** Runs `SYNC_CALENDAR_JOB`: one sync of the calendar, then any outbox rows left behind (now and then). */
@Injectable()
export class SyncCalendarJob implements OnModuleInit {
  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly sync: SyncCalendarService,
    private readonly replayer: PendingChangesReplayer,
  ) {}

  onModuleInit(): void {
    this.registry.handle(SYNC_CALENDAR_JOB, async ({ selectedCalendarId, full }, { signal, logFields }) => {
      await this.sync.sync(selectedCalendarId, { full, signal, logFields });
      await this.replayer.replayIfDue();
    });
  }
}
