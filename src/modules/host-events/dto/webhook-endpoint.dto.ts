import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
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

export class UpdateWebhookEndpointDto {
  @ApiPropertyOptional()
  @IsOptional()
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
  @IsOptional()
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
  @Matches(/^([1-9]\d?|1\d\d|200)$/, { message: 'limit must be an integer from 1 to 200' })
  limit?: string;

  @ApiPropertyOptional({ description: 'the nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'after must be a cursor returned as nextCursor' })
  after?: string;
}

export class ChangesQueryDto {
  @ApiPropertyOptional({ description: '1 to 1000, default 100' })
  @IsOptional()
  @Matches(/^([1-9]\d{0,2}|1000)$/, { message: 'limit must be an integer from 1 to 1000' })
  limit?: string;

  @ApiPropertyOptional({ description: 'the nextCursor of the previous page; omitted: from the oldest event kept' })
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'after must be a cursor returned as nextCursor' })
  after?: string;
}
