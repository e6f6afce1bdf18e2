import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { PendingChangesReplayer } from '../pending-changes.replayer.js';
import { SyncCalendarService } from '../sync-calendar.service.js';
import { SYNC_CALENDAR_JOB, type SyncCalendarPayload } from '../sync.constants.js';

@Injectable()
export class SyncCalendarJob implements OnModuleInit {
  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly sync: SyncCalendarService,
    private readonly replayer: PendingChangesReplayer,
  ) {}

  onModuleInit(): void {
    this.registry.register(SYNC_CALENDAR_JOB, async (payload) => {
      const { selectedCalendarId, full } = payload as SyncCalendarPayload;
      await this.sync.sync(selectedCalendarId, { full });
      await this.replayer.replayIfDue();
    });
  }
}
