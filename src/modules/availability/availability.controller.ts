import { ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiTags, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { CACHE_FLAG, RequireFeature } from '../feature-flags/index.js';
import { BusyTimesQueryDto } from './dto/busy-times.dto.js';
import { GetBusyTimesQuery } from './queries/get-busy-times.query.js';
import { ListCachedEventsQuery } from './queries/list-cached-events.query.js';
import { BusyTimesResponse, CachedEventResponse } from './dto/availability.response.js';

@ApiTags('availability')
@ApiKeyProtected()
@Controller('api/v1/users/:userId')
export class AvailabilityController {
  constructor(private readonly queries: QueryBus) {}

  @ApiOkResponse({ type: BusyTimesResponse })
  @ApiOperation({ operationId: 'getBusyTimes' })
  @Get('busy-times')
  busyTimes(@Param('userId', IdParamPipe) userId: number, @Query() query: BusyTimesQueryDto) {
    return this.queries.execute(new GetBusyTimesQuery(userId, new Date(query.start), new Date(query.end)));
  }

  /** The cached events behind a busy answer; only for users whose cache is on. */
  @ApiOkResponse({ type: [CachedEventResponse] })
  @ApiOperation({ operationId: 'listCachedEvents' })
  @Get('cached-events')
  @RequireFeature(CACHE_FLAG)
  cachedEvents(@Param('userId', IdParamPipe) userId: number, @Query() query: BusyTimesQueryDto) {
    return this.queries.execute(new ListCachedEventsQuery(userId, new Date(query.start), new Date(query.end)));
  }
}
