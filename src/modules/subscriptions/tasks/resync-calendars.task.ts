import { Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { UnfollowedBookingCalendarsQuery } from '../../bookings/index.js';
import { ConnectionsService, ListFollowedCalendarsQuery } from '../../connections/index.js';
import { PendingChangesReplayer, SYNC_CALENDAR_JOB, syncJobOptions } from '../../sync/index.js';

/**
 * The safety net: an incremental sync of every subscribed calendar whether or not pushes came,
 * so a dropped notification is healed within one interval. A calendar that is wanted but whose
 * channel cannot be opened (its attempts fail and back off) is synced too: with no pushes at all,
 * this sweep is all that follows it. A calendar holding an upcoming booking's event that calsync
 * does not follow (the host moved the event there, and the row that follows it was lost or the
 * calendar unselected) is followed again: the next subscribe-calendars opens its channel and syncs
 * it. Only enqueues keyed jobs and inserts rows that may already exist: with N instances each
 * calendar is still synced once.
 */
@Injectable()
export class ResyncCalendarsTask {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queries: QueryBus,
    private readonly jobs: JobQueue,
    private readonly replayer: PendingChangesReplayer,
    private readonly connections: ConnectionsService,
  ) {}

  async run(): Promise<{ enqueued: number; replayedChanges: number; refollowed: number }> {
    // Every calendar with a channel, or with a channel attempt due after a failure (subscriptions'
    // own columns; subscribe-calendars clears the attempt once no flag wants the calendar), whose
    // credential is still active.
    const followed = await this.queries.execute(new ListFollowedCalendarsQuery({ activeCredentialsOnly: true }));
    const rows = followed.filter((calendar) => calendar.channelId !== null || calendar.nextSubscribeAttemptAt !== null);
    // All or none, in one statement per thousand calendars.
    await this.dataSource.transaction((manager) =>
      this.jobs.enqueueJobs(
        SYNC_CALENDAR_JOB,
        rows.map((row) => ({ payload: { selectedCalendarId: row.id, reason: 'resync' }, options: syncJobOptions(row.id) })),
        manager,
      ),
    );
    const replayedChanges = await this.replayer.replay();
    const unfollowed = await this.queries.execute(new UnfollowedBookingCalendarsQuery());
    for (const calendar of unfollowed) {
      await this.connections.followCalendar(calendar.userId, calendar.credentialId, calendar.externalCalendarId);
    }
    return { enqueued: rows.length, replayedChanges, refollowed: unfollowed.length };
  }
}
