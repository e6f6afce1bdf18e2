import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiTags, ApiOkResponse } from '@nestjs/swagger';
import { AdminRoute, ApiKeyProtected } from '../../../common/auth/api-auth.decorator.js';
import { decodeCursor, pageFrom, pageLimit } from '../../../common/pagination/pagination.js';
import { IdParamPipe } from '../../../common/validation/id-param.pipe.js';
import { HeldChangesNotFoundError } from '../bookings.errors.js';
import type { HeldChangesStatus } from './held-changes-view.js';
import { ConfirmHeldChangesCommand, DiscardHeldChangesCommand } from './held-changes.commands.js';
import { ListHeldChangesQuery } from './held-changes.queries.js';
import { ApiPageResponse } from '../../../common/openapi/responses.js';
import { HeldChangesResponse } from '../dto/booking.response.js';
import { ListHeldChangesDto } from '../dto/list-held-changes.dto.js';
import { NoBody } from '../../../common/validation/no-body.js';

const HELD_CHANGES_CURSOR = 'held-changes';

/**
 * Held changes (`SYNC_MASS_CANCEL_THRESHOLD`): cancellations a sync run held for a person because
 * it would have cancelled too many of a user's upcoming bookings at once. Confirm applies them,
 * discard drops them and writes the bookings' events back to the calendar.
 */
@ApiTags('admin')
@AdminRoute()
@ApiKeyProtected()
@Controller('api/v1/admin/held-changes')
export class HeldChangesAdminController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  /**
   * Holds, newest first, each with its bookings, a page at a time (`{items, nextCursor}`);
   * `status` keeps one kind (`held`: waiting for a person).
   */
  @ApiPageResponse(HeldChangesResponse)
  @Get()
  async list(@Query() query: ListHeldChangesDto) {
    const { status, after } = query;
    const limit = pageLimit(query.limit);
    const [beforeId] = (decodeCursor(HELD_CHANGES_CURSOR, after, ['id']) ?? []) as number[];
    const holds = await this.queries.execute(
      new ListHeldChangesQuery({ status: status as HeldChangesStatus | undefined, beforeId, limit: limit + 1 }),
    );
    return pageFrom(HELD_CHANGES_CURSOR, holds, limit, (hold) => [hold.id]);
  }

  @ApiOkResponse({ type: HeldChangesResponse })
  @Get(':id')
  async get(@Param('id', IdParamPipe) id: number) {
    const [hold] = await this.queries.execute(new ListHeldChangesQuery({ id }));
    if (!hold) throw new HeldChangesNotFoundError(id);
    return hold;
  }

  /** Applies the held cancellations (a booking whose event exists again is kept); 409 when already resolved. */
  @ApiOkResponse({ type: HeldChangesResponse })
  @Post(':id/confirm')
  @HttpCode(200)
  confirm(@NoBody() _body: undefined, @Param('id', IdParamPipe) id: number) {
    return this.commands.execute(new ConfirmHeldChangesCommand(id));
  }

  /** Drops them: the bookings stay and their events are written back; 409 when already resolved. */
  @ApiOkResponse({ type: HeldChangesResponse })
  @Post(':id/discard')
  @HttpCode(200)
  discard(@NoBody() _body: undefined, @Param('id', IdParamPipe) id: number) {
    return this.commands.execute(new DiscardHeldChangesCommand(id));
  }
}
