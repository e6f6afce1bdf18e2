import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { DATE_TIME, NULLABLE_DATE_TIME } from '../../../common/openapi/responses.js';
import type { BusyTimes } from '../queries/get-busy-times.query.js';
import type { CachedEventView } from '../queries/list-cached-events.query.js';

/** OpenAPI schemas of what the availability routes answer (`implements` keeps them in step). */

@ApiSchema({ name: 'BusyInterval' })
export class BusyIntervalResponse {
  @ApiProperty(DATE_TIME)
  start!: string;

  @ApiProperty(DATE_TIME)
  end!: string;
}

@ApiSchema({ name: 'BusyTimes' })
export class BusyTimesResponse implements BusyTimes {
  @ApiProperty({ enum: ['cache', 'live', 'mixed'], description: 'where the answer came from' })
  source!: BusyTimes['source'];

  @ApiProperty({ type: [BusyIntervalResponse], description: 'merged busy intervals, clipped to the range' })
  busy!: BusyIntervalResponse[];
}

@ApiSchema({ name: 'CachedEvent' })
export class CachedEventResponse implements CachedEventView {
  @ApiProperty()
  selectedCalendarId!: number;

  @ApiProperty()
  externalCalendarId!: string;

  @ApiProperty()
  externalId!: string;

  @ApiProperty(DATE_TIME)
  start!: string;

  @ApiProperty(DATE_TIME)
  end!: string;

  @ApiProperty()
  isAllDay!: boolean;

  @ApiProperty()
  status!: string;

  @ApiProperty({ type: String, nullable: true })
  etag!: string | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  externalUpdatedAt!: string | null;

  @ApiProperty(DATE_TIME)
  cachedAt!: string;
}
