import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { DATE_TIME, NULLABLE_DATE_TIME } from '../../../common/openapi/responses.js';
import type { ProviderName } from '../../../config/app-config.js';
import { PROVIDER_NAMES } from '../../providers/provider-names.js';

/** OpenAPI schemas of what the admin sync routes answer. */

@ApiSchema({ name: 'TaskReport', description: 'What a scheduled task did when run on demand' })
export class TaskReportResponse {
  @ApiProperty()
  task!: string;

  @ApiProperty(DATE_TIME)
  startedAt!: string;

  @ApiProperty(DATE_TIME)
  finishedAt!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'counts, per task' })
  result!: object;
}

@ApiSchema({ name: 'FollowedCalendarStatus', description: 'A followed calendar and the state of its sync' })
export class FollowedCalendarResponse {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  userId!: number;

  @ApiProperty()
  credentialId!: number;

  @ApiProperty({ enum: PROVIDER_NAMES })
  integration!: ProviderName;

  @ApiProperty()
  externalId!: string;

  @ApiProperty()
  busySource!: boolean;

  @ApiProperty()
  isDestination!: boolean;

  @ApiProperty({ type: String, nullable: true })
  channelId!: string | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  channelExpiration!: string | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  syncSubscribedAt!: string | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  syncedAt!: string | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  syncErrorAt!: string | null;

  @ApiProperty()
  syncErrorCount!: number;

  @ApiProperty({ type: String, nullable: true })
  lastError!: string | null;

  @ApiProperty()
  cacheEnabled!: boolean;

  @ApiProperty({ description: 'whether an incremental sync cursor is stored' })
  hasCursor!: boolean;

  @ApiProperty({ enum: ['active', 'invalid'] })
  credentialStatus!: string;

  @ApiProperty({ enum: ['subscribed', 'unsubscribed', 'error', 'expired', 'held'] })
  status!: string;

  @ApiProperty({ description: 'bookings whose cancellation is held for a person' })
  heldCount!: number;
}

@ApiSchema({ name: 'ResyncQueued' })
export class ResyncQueuedResponse {
  @ApiProperty()
  id!: number;

  @ApiProperty({ enum: ['queued'] })
  resync!: 'queued';

  @ApiProperty()
  full!: boolean;
}
