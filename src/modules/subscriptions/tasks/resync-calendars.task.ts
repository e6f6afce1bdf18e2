import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { PendingChangesReplayer } from '../../sync/pending-changes.replayer.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from '../../sync/sync.constants.js';

/**
 * The safety net: an incremental sync of every subscribed calendar whether or not pushes came,
 * so a dropped notification is healed within one interval. Only enqueues keyed jobs: with N
 * instances each calendar is still synced once.
 */
@Injectable()
export class ResyncCalendarsTask {
  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
    private readonly replayer: PendingChangesReplayer,
  ) {}

  async run(): Promise<{ enqueued: number; replayedChanges: number }> {
    const rows: Array<{ id: number }> = await this.dataSource.query(
      `SELECT sc."id" FROM "SelectedCalendar" sc JOIN "Credential" c ON c."id" = sc."credentialId"
        WHERE sc."channelId" IS NOT NULL AND c."status" = 'active' ORDER BY sc."id"`,
    );
    await this.dataSource.transaction(async (manager) => {
      for (const row of rows) {
        await this.jobs.enqueue(
          SYNC_CALENDAR_JOB,
          { selectedCalendarId: row.id, reason: 'resync' },
          syncJobOptions(row.id),
          manager,
        );
      }
    });
    const replayedChanges = await this.replayer.replay();
    return { enqueued: rows.length, replayedChanges };
  }
}
