import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { MAX_ID } from '../../../common/validation/ids.js';
import { HOST_EVENT_TYPES, type HostEventType } from '../ports/host-event-recorder.port.js';

const EVENTS_MESSAGE = `each value in events must be one of ${HOST_EVENT_TYPES.join(', ')}`;

export class CreateWebhookEndpointDto {
  @ApiProperty({ description: 'http(s) URL the events are POSTed to' })
  @IsString()
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({ enum: HOST_EVENT_TYPES, isArray: true, description: 'omitted: every type' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(HOST_EVENT_TYPES.length)
  @IsIn(HOST_EVENT_TYPES, { each: true, message: EVENTS_MESSAGE })
  events?: HostEventType[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

/** Absent is "leave as is"; null is not a value these fields can take (a 400, not silently ignored). */
const unlessAbsent = ValidateIf((_: object, value: unknown) => value !== undefined);

export class UpdateWebhookEndpointDto {
  @ApiPropertyOptional()
  @unlessAbsent
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ enum: HOST_EVENT_TYPES, isArray: true, nullable: true, description: 'null: every type' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(HOST_EVENT_TYPES.length)
  @IsIn(HOST_EVENT_TYPES, { each: true, message: EVENTS_MESSAGE })
  events?: HostEventType[] | null;

  @ApiPropertyOptional()
  @unlessAbsent
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class PageQueryDto {
  @ApiPropertyOptional({ description: '1 to 200, default 50' })
  @IsOptional()
  // Empty (`limit=`) is the default, as on every list.
  @Matches(/^([1-9]\d?|1\d\d|200)?$/, { message: 'limit must be an integer from 1 to 200' })
  limit?: string;

  @ApiPropertyOptional({ description: 'the nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^(\d{1,18})?$/, { message: 'after must be a cursor returned as nextCursor' })
  after?: string;
}

export class ChangesQueryDto {
  @ApiPropertyOptional({ description: '1 to 1000, default 100' })
  @IsOptional()
  @Matches(/^([1-9]\d{0,2}|1000)?$/, { message: 'limit must be an integer from 1 to 1000' })
  limit?: string;

  @ApiPropertyOptional({ description: 'the nextCursor of the previous page; omitted: from the oldest event kept' })
  @IsOptional()
  @Matches(/^(\d{1,18})?$/, { message: 'after must be a cursor returned as nextCursor' })
  after?: string;
}

/** The endpoints' list: its cursor is an endpoint id, a 32-bit id like every other (deliveries' are 64-bit). */
export class EndpointPageQueryDto extends PageQueryDto {
  @ValidateBy({
    name: 'isEndpointCursor',
    validator: {
      validate: (value: unknown) => value === undefined || (typeof value === 'string' && Number(value) <= MAX_ID),
      defaultMessage: () => 'after must be a cursor returned as nextCursor',
    },
  })
  declare after?: string;
}
