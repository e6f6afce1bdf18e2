import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JobHandlerRegistry } from '../../../infrastructure/queue/job-handler.registry.js';
import { ChannelManager } from '../channel-manager.js';
import { STOP_CHANNEL_JOB, type StopChannelPayload } from '../subscriptions.jobs.js';

/**
 * Runs `STOP_CHANNEL_JOB`: stops a channel whose calendar row is gone (queued by connections), or
 * one replaced for carrying a retired webhook secret (queued by `ChannelManager`, as a backstop).
 * A stop the provider did not take fails the attempt, and the job is retried.
 */
@Injectable()
export class StopChannelJob implements OnModuleInit {
  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly channels: ChannelManager,
  ) {}

  onModuleInit(): void {
    this.registry.handle(STOP_CHANNEL_JOB, (payload) => this.run(payload));
  }

  async run({ provider, credentialId, channel, sealedKey }: StopChannelPayload): Promise<void> {
    await this.channels.stop(provider, credentialId, { ...channel, expiration: new Date(channel.expiration ?? 0) }, sealedKey);
  }
}
