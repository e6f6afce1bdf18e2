import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiTags, ApiCreatedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { type IdempotencyTicket, Idempotent, IdempotencyTicketOf } from '../../common/idempotency/index.js';
import { pageLimit } from '../../common/pagination/pagination.js';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { CancelBookingCommand } from './commands/cancel-booking.command.js';
import { CreateBookingCommand } from './commands/create-booking.command.js';
import { AcceptPendingChangeCommand, RejectPendingChangeCommand } from './commands/pending-change.commands.js';
import { RescheduleBookingCommand } from './commands/reschedule-booking.command.js';
import { CancelBookingDto } from './dto/cancel-booking.dto.js';
import { CreateBookingDto } from './dto/create-booking.dto.js';
import { ListBookingsDto } from './dto/list-bookings.dto.js';
import { RescheduleBookingDto } from './dto/reschedule-booking.dto.js';
import { GetBookingQuery } from './queries/get-booking.query.js';
import { ListBookingsQuery } from './queries/list-bookings.query.js';
import { ApiPageResponse } from '../../common/openapi/responses.js';
import { BookingResponse } from './dto/booking.response.js';
import { NoBody } from '../../common/validation/no-body.js';

@ApiTags('bookings')
@ApiKeyProtected()
@Controller('api/v1/bookings')
export class BookingsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @ApiCreatedResponse({ type: BookingResponse })
  @Post()
  @Idempotent()
  create(@Body() body: CreateBookingDto, @IdempotencyTicketOf() idempotency?: IdempotencyTicket) {
    return this.commands.execute(
      new CreateBookingCommand(
        {
          ...body,
          startTime: new Date(body.startTime),
          endTime: new Date(body.endTime),
        },
        idempotency,
      ),
    );
  }

  @ApiPageResponse(BookingResponse)
  @Get()
  list(@Query() query: ListBookingsDto) {
    return this.queries.execute(
      new ListBookingsQuery(
        {
          userId: query.userId ? Number(query.userId) : undefined,
          status: query.status,
          updatedSince: query.updatedSince ? new Date(query.updatedSince) : undefined,
        },
        { limit: pageLimit(query.limit), after: query.after },
      ),
    );
  }

  @ApiOkResponse({ type: BookingResponse })
  @Get(':id')
  get(@Param('id', IdParamPipe) id: number) {
    return this.queries.execute(new GetBookingQuery(id));
  }

  @ApiOkResponse({ type: BookingResponse, description: 'the booking as it is now' })
  @Post(':id/reschedule')
  @HttpCode(200)
  @Idempotent()
  async reschedule(
    @Param('id', IdParamPipe) id: number,
    @Body() body: RescheduleBookingDto,
    @IdempotencyTicketOf() idempotency?: IdempotencyTicket,
  ) {
    await this.commands.execute(
      new RescheduleBookingCommand(id, new Date(body.startTime), new Date(body.endTime), 'api', undefined, idempotency),
    );
    return this.queries.execute(new GetBookingQuery(id));
  }

  @ApiOkResponse({ type: BookingResponse, description: 'the booking as it is now' })
  @Post(':id/cancel')
  @HttpCode(200)
  @Idempotent()
  async cancel(
    @Param('id', IdParamPipe) id: number,
    @Body() body: CancelBookingDto,
    @IdempotencyTicketOf() idempotency?: IdempotencyTicket,
  ) {
    await this.commands.execute(new CancelBookingCommand(id, body.reason ?? null, 'api', undefined, idempotency));
    return this.queries.execute(new GetBookingQuery(id));
  }

  @ApiOperation({
    summary: 'Accept the pending change',
    description:
      'Applies the conflicting calendar reschedule held by conflictPolicy flag: the booking takes its time (the event ' +
      'already shows it). 404 when there is no pending change; 409 when the booking is cancelled, or when the host ' +
      'moved the event again and that move is still being evaluated.',
  })
  @ApiOkResponse({ type: BookingResponse, description: 'the booking as it is now' })
  @Post(':id/pending-change/accept')
  @HttpCode(200)
  async acceptPendingChange(@NoBody() _body: undefined, @Param('id', IdParamPipe) id: number) {
    await this.commands.execute(new AcceptPendingChangeCommand(id));
    return this.queries.execute(new GetBookingQuery(id));
  }

  @ApiOperation({
    summary: 'Reject the pending change',
    description:
      'Drops the conflicting calendar reschedule held by conflictPolicy flag: the booking keeps its time and the event ' +
      'is moved back. Errors as for accept.',
  })
  @ApiOkResponse({ type: BookingResponse, description: 'the booking as it is now' })
  @Post(':id/pending-change/reject')
  @HttpCode(200)
  async rejectPendingChange(@NoBody() _body: undefined, @Param('id', IdParamPipe) id: number) {
    await this.commands.execute(new RejectPendingChangeCommand(id));
    return this.queries.execute(new GetBookingQuery(id));
  }
}
