import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags, ApiOkResponse } from '@nestjs/swagger';
import { ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { ChangesQueryDto } from './dto/webhook-endpoint.dto.js';
import { HostEventStore } from './host-event.store.js';
import { ChangesPageResponse } from './dto/host-events.response.js';

const DEFAULT_LIMIT = 100;

@ApiTags('changes')
@ApiKeyProtected()
@Controller('api/v1/changes')
export class ChangesController {
  constructor(private readonly store: HostEventStore) {}

  /**
   * The change feed: the events webhooks deliver, in commit order, kept at least 30 days. The feed
   * never ends: `nextCursor` is always where to continue (the `after` given when nothing is new);
   * an empty `items` means caught up.
   */
  @ApiOkResponse({ type: ChangesPageResponse })
  @Get()
  async list(@Query() query: ChangesQueryDto) {
    const after = query.after ? Number(query.after) : 0;
    const events = await this.store.feed(after, query.limit ? Number(query.limit) : DEFAULT_LIMIT);
    return {
      items: events.map(({ id, type, timestamp, data }) => ({ id, type, timestamp, data })),
      // With nothing new, the cursor given, as given (a number past 2^53 would not survive Number).
      nextCursor: events.length > 0 ? String(events[events.length - 1].position) : query.after || '0',
    };
  }
}
