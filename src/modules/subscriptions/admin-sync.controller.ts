import { Controller, Get, HttpCode, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { BadRequestException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AdminRoute, ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from '../sync/sync.constants.js';
import { TaskRunner } from './task-runner.js';

const STATUSES = ['subscribed', 'unsubscribed', 'error', 'expired'] as const;

@ApiTags('admin')
@AdminRoute()
@ApiKeyProtected()
@Controller('api/v1/admin')
export class AdminSyncController {
  constructor(
    private readonly tasks: TaskRunner,
    private readonly dataSource: DataSource,
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
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT sc."id", sc."userId", sc."credentialId", sc."integration", sc."externalId", sc."busySource",
              EXISTS (SELECT 1 FROM "DestinationCalendar" d WHERE d."selectedCalendarId" = sc."id") AS "isDestination",
              sc."channelId", sc."channelExpiration", sc."syncSubscribedAt", sc."syncedAt", sc."syncErrorAt",
              sc."syncErrorCount", sc."lastError", sc."cacheEnabled", (sc."syncToken" IS NOT NULL) AS "hasCursor",
              c."status" AS "credentialStatus",
              CASE WHEN sc."syncErrorCount" > 0 THEN 'error'
                   WHEN sc."channelId" IS NULL THEN 'unsubscribed'
                   WHEN sc."channelExpiration" <= now() THEN 'expired'
                   ELSE 'subscribed' END AS "status"
         FROM "SelectedCalendar" sc JOIN "Credential" c ON c."id" = sc."credentialId"
        ORDER BY sc."id"`,
    );
    return status ? rows.filter((r) => r.status === status) : rows;
  }

  /** Throws the cursor away and rebuilds the calendar's cache from a full listing. */
  @Post('selected-calendars/:id/resync')
  @HttpCode(202)
  async resync(@Param('id', IdParamPipe) id: number) {
    const exists: unknown[] = await this.dataSource.query(`SELECT 1 FROM "SelectedCalendar" WHERE "id" = $1`, [id]);
    if (exists.length === 0) throw new NotFoundException(`Selected calendar ${id} not found`);
    await this.jobs.enqueue(
      SYNC_CALENDAR_JOB,
      { selectedCalendarId: id, full: true, reason: 'admin' },
      syncJobOptions(id, { full: true }),
    );
    return { id, resync: 'queued', full: true };
  }
}
