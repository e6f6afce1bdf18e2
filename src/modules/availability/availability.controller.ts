import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { BusyTimesQueryDto } from './dto/busy-times.dto.js';
import { GetBusyTimesQuery } from './queries/get-busy-times.query.js';

@ApiTags('availability')
@ApiBearerAuth()
@Controller('api/v1/users/:userId')
export class AvailabilityController {
  constructor(private readonly queries: QueryBus) {}

  @Get('busy-times')
  busyTimes(@Param('userId', IdParamPipe) userId: number, @Query() query: BusyTimesQueryDto) {
    return this.queries.execute(new GetBusyTimesQuery(userId, new Date(query.start), new Date(query.end)));
  }
}
