import { Injectable, type OnModuleInit } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { ListFollowedCalendarsQuery } from '../../connections/index.js';
import { ChannelManager } from '../channel-manager.js';
import { CHANNEL_LIFECYCLE_JOB, type ChannelLifecyclePayload } from '../subscriptions.jobs.js';

/** Runs `CHANNEL_LIFECYCLE_JOB`: reauthorize (or renew) the channel, or open a new one. */
@Injectable()
export class ChannelLifecycleJob implements OnModuleInit {
  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly queries: QueryBus,
    private readonly channels: ChannelManager,
  ) {}

  onModuleInit(): void {
    this.registry.handle(CHANNEL_LIFECYCLE_JOB, (payload) => this.run(payload));
  }

  async run({ selectedCalendarId, operation, channelId }: ChannelLifecyclePayload): Promise<void> {
    // Connections' read model of the row (a calendar always has its credential: the join drops nothing).
    const [calendar] = await this.queries.execute(new ListFollowedCalendarsQuery({ id: selectedCalendarId }));
    // Gone, or the channel was replaced meanwhile: the notification is about a channel we no longer use.
    if (!calendar || !calendar.channelId || (channelId && calendar.channelId !== channelId)) return;
    await this.channels.watch(calendar, operation);
  }
}
