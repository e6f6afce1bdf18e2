import { Controller, Get, HttpCode, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiTags, ApiAcceptedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { AdminRoute, ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { decodeCursor, encodeCursor, pageFrom, pageLimit } from '../../common/pagination/pagination.js';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { CalendarsWithHeldChangesQuery } from '../bookings/index.js';
import { type FollowedCalendar, ListFollowedCalendarsQuery } from '../connections/index.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from '../sync/sync.jobs.js';
import { TaskRunner } from './task-runner.js';
import { ApiPageResponse } from '../../common/openapi/responses.js';
import { FollowedCalendarResponse, ResyncQueuedResponse, TaskReportResponse } from './dto/admin-sync.response.js';
import { type CalendarStatus, ListFollowedCalendarsDto } from './dto/list-followed-calendars.dto.js';
import { NoBody } from '../../common/validation/no-body.js';

const SELECTED_CALENDARS_CURSOR = 'selected-calendars';
/** Rows read per round trip while looking for a page of calendars in one status. */
const SCAN_CHUNK = 500;
/**
 * Rows one filtered request reads at most: past them, the page ends early (fewer items than
 * `limit`, maybe none) with a cursor where the walk stopped, so a rare status over many calendars
 * is many short requests, never one that runs past the request time bound and on in the background.
 */
export const SCAN_BUDGET = 10 * SCAN_CHUNK;

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
  @ApiOkResponse({ type: TaskReportResponse })
  @ApiOperation({ operationId: 'runTask' })
  @Post('tasks/:task/run')
  @HttpCode(200)
  run(@NoBody() _body: undefined, @Param('task') task: string) {
    return this.tasks.run(TaskRunner.parse(task));
  }

  /**
   * Every followed calendar's sync state by id, a page at a time (`{items, nextCursor}`). The
   * status is computed (channel, errors, held changes), so a filtered page reads the calendars in
   * chunks until it has a page of matches or has read `SCAN_BUDGET` rows: a keyset walk on id either
   * way.
   */
  @ApiPageResponse(FollowedCalendarResponse)
  @ApiOperation({ operationId: 'listFollowedCalendars' })
  @Get('selected-calendars')
  async list(@Query() query: ListFollowedCalendarsDto) {
    const { status, after } = query;
    const limit = pageLimit(query.limit);
    let [afterId] = (decodeCursor(SELECTED_CALENDARS_CURSOR, after, ['id']) ?? []) as Array<number | undefined>;
    const now = Date.now();
    const held = await this.queries.execute(new CalendarsWithHeldChangesQuery());
    const heldCounts = new Map(held.map((h) => [h.selectedCalendarId, h.count]));
    const matches: Array<ReturnType<typeof toAdminView>> = [];
    const chunk = status ? SCAN_CHUNK : limit + 1;
    let scanned = 0;
    while (matches.length <= limit) {
      const calendars = await this.queries.execute(new ListFollowedCalendarsQuery({ afterId, limit: chunk }));
      for (const calendar of calendars) {
        const view = toAdminView(calendar, now, heldCounts.get(calendar.id) ?? 0);
        if (!status || view.status === status) matches.push(view);
      }
      if (calendars.length < chunk) break;
      afterId = calendars[calendars.length - 1].id;
      scanned += calendars.length;
      // Every match so far is at or before afterId: the next request goes on after it.
      if (scanned >= SCAN_BUDGET && matches.length <= limit) {
        return { items: matches, nextCursor: encodeCursor(SELECTED_CALENDARS_CURSOR, [afterId]) };
      }
    }
    return pageFrom(SELECTED_CALENDARS_CURSOR, matches, limit, (view) => [view.id]);
  }

  /** Throws the cursor away and rebuilds the calendar's cache from a full listing. */
  @ApiAcceptedResponse({ type: ResyncQueuedResponse })
  @ApiOperation({ operationId: 'resyncFollowedCalendar' })
  @Post('selected-calendars/:id/resync')
  @HttpCode(202)
  async resync(@NoBody() _body: undefined, @Param('id', IdParamPipe) id: number) {
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
