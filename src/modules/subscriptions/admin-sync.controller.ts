import { BadRequestException, Controller, Get, HttpCode, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { AdminRoute, ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { CalendarsWithHeldChangesQuery } from '../bookings/index.js';
import { type FollowedCalendar, ListFollowedCalendarsQuery } from '../connections/index.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from '../sync/sync.jobs.js';
import { TaskRunner } from './task-runner.js';

const STATUSES = ['subscribed', 'unsubscribed', 'error', 'expired', 'held'] as const;
type CalendarStatus = (typeof STATUSES)[number];

@ApiTags('admin')
@AdminRoute()
@ApiKeyProtected()
@Controller('api/v1/admin')
export class AdminSyncController {
  constructor(
    private readonly tasks: TaskRunner,
    private readonly queries: QueryBus,
    private readonly jobs: JobQueue,
  ) {}

  /** Runs a scheduled task now and answers when it is done, with what it did. */
  @Post('tasks/:task/run')
  @HttpCode(200)
  run(@Param('task') task: string) {
    return this.tasks.run(TaskRunner.parse(task));
  }

  @Get('selected-calendars')
  @ApiQuery({ name: 'status', required: false, enum: STATUSES })
  async list(@Query('status') status?: string) {
    if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
      throw new BadRequestException(`status must be one of: ${STATUSES.join(', ')}`);
    }
    const now = Date.now();
    const [calendars, held] = await Promise.all([
      this.queries.execute(new ListFollowedCalendarsQuery()),
      this.queries.execute(new CalendarsWithHeldChangesQuery()),
    ]);
    const heldCounts = new Map(held.map((h) => [h.selectedCalendarId, h.count]));
    const rows = calendars.map((calendar) => toAdminView(calendar, now, heldCounts.get(calendar.id) ?? 0));
    return status ? rows.filter((r) => r.status === status) : rows;
  }

  /** Throws the cursor away and rebuilds the calendar's cache from a full listing. */
  @Post('selected-calendars/:id/resync')
  @HttpCode(202)
  async resync(@Param('id', IdParamPipe) id: number) {
    const found = await this.queries.execute(new ListFollowedCalendarsQuery({ id }));
    if (found.length === 0) throw new NotFoundException(`Selected calendar ${id} not found`);
    await this.jobs.enqueueJob(
      SYNC_CALENDAR_JOB,
      { selectedCalendarId: id, full: true, reason: 'admin' },
      syncJobOptions(id, { full: true }),
    );
    return { id, resync: 'queued', full: true };
  }
}

/**
 * A calendar whose sync holds cancellations for a person is `held` (`heldCount` bookings; see
 * `GET /api/v1/admin/held-changes`); a failing one is in error whatever its channel; otherwise its
 * channel says.
 */
function statusOf(calendar: FollowedCalendar, now: number, heldCount: number): CalendarStatus {
  if (heldCount > 0) return 'held';
  if (calendar.syncErrorCount > 0) return 'error';
  if (calendar.channelId === null) return 'unsubscribed';
  if (calendar.channelExpiration !== null && new Date(calendar.channelExpiration).getTime() <= now) return 'expired';
  return 'subscribed';
}

function toAdminView(calendar: FollowedCalendar, now: number, heldCount: number) {
  return {
    id: calendar.id,
    userId: calendar.userId,
    credentialId: calendar.credentialId,
    integration: calendar.integration,
    externalId: calendar.externalId,
    busySource: calendar.busySource,
    isDestination: calendar.isDestination,
    channelId: calendar.channelId,
    channelExpiration: calendar.channelExpiration,
    syncSubscribedAt: calendar.syncSubscribedAt,
    syncedAt: calendar.syncedAt,
    syncErrorAt: calendar.syncErrorAt,
    syncErrorCount: calendar.syncErrorCount,
    lastError: calendar.lastError,
    cacheEnabled: calendar.cacheEnabled,
    hasCursor: calendar.syncToken !== null,
    credentialStatus: calendar.credentialStatus,
    status: statusOf(calendar, now, heldCount),
    heldCount,
  };
}
