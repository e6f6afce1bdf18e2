import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/pagination.js';

export const CALENDAR_STATUSES = ['subscribed', 'unsubscribed', 'error', 'expired', 'held'] as const;
export type CalendarStatus = (typeof CALENDAR_STATUSES)[number];

/** `GET /api/v1/admin/selected-calendars`: a page, optionally of one status; anything else is a 400. */
export class ListFollowedCalendarsDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: CALENDAR_STATUSES })
  @IsOptional()
  @IsIn(CALENDAR_STATUSES, { message: `status must be one of: ${CALENDAR_STATUSES.join(', ')}` })
  status?: CalendarStatus;
}
