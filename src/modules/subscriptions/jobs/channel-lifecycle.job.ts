import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { findById } from '../../../infrastructure/database/find-by-id.js';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { SelectedCalendarEntity } from '../../connections/entities/selected-calendar.entity.js';
import { ChannelManager } from '../channel-manager.js';

export const CHANNEL_LIFECYCLE_JOB = 'channel-lifecycle';

export interface ChannelLifecyclePayload {
  selectedCalendarId: number;
  operation: 'reauthorize' | 'recreate';
  /** The channel the provider's life-cycle notification was about. */
  channelId: string | null;
}

/** One waiting life-cycle job per calendar: Graph may repeat a life-cycle notification. */
export function channelLifecycleJobOptions(selectedCalendarId: number) {
  return { jobKey: `channel-lifecycle:${selectedCalendarId}`, jobKeyMode: 'replace' as const, maxAttempts: 8 };
}

/** Answers a provider's life-cycle notification: reauthorize (or renew) the channel, or open a new one. */
@Injectable()
export class ChannelLifecycleJob implements OnModuleInit {
  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly dataSource: DataSource,
    private readonly channels: ChannelManager,
  ) {}

  onModuleInit(): void {
    this.registry.register(CHANNEL_LIFECYCLE_JOB, (payload) => this.run(payload as ChannelLifecyclePayload));
  }

  async run({ selectedCalendarId, operation, channelId }: ChannelLifecyclePayload): Promise<void> {
    const calendar = await findById(this.dataSource, SelectedCalendarEntity, selectedCalendarId);
    // Gone, or the channel was replaced meanwhile: the notification is about a channel we no longer use.
    if (!calendar || !calendar.channelId || (channelId && calendar.channelId !== channelId)) return;
    await this.channels.watch(calendar, operation);
  }
}
