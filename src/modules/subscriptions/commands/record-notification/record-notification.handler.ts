import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { ProviderName } from '../../../../config/app-config.js';
import { JobQueue } from '../../../../infrastructure/queue/job-queue.js';
import { MetricsService } from '../../../../infrastructure/metrics/metrics.service.js';
import type { WebhookItem } from '../../../providers/webhook.js';
import { NotificationIntake } from '../../notification-intake.js';
import { InvalidChannelTokenError } from '../../subscriptions.errors.js';
import { CHANNEL_LIFECYCLE_JOB, channelLifecycleJobOptions } from '../../subscriptions.jobs.js';
import { type NotificationResult, RecordNotificationCommand } from './record-notification.command.js';

type Outcome = NotificationResult | 'forbidden';
const OUTCOMES: Outcome[] = ['accepted', 'sync_state', 'lifecycle', 'unknown_channel', 'superseded_channel', 'forbidden'];

/**
 * Checks every item's secret, finds each item's channel, and durably queues what it asks for: a
 * sync of the calendar (debounced by the intake) or a channel life-cycle job. Never calls a provider.
 */
@CommandHandler(RecordNotificationCommand)
export class RecordNotificationHandler implements ICommandHandler<RecordNotificationCommand> {
  /** The notification counter per provider and result, with its labels bound once (this runs for every push). */
  private readonly received = new Map<ProviderName, Record<Outcome, { inc(): void }>>();

  constructor(
    private readonly intake: NotificationIntake,
    private readonly jobs: JobQueue,
    private readonly metrics: MetricsService,
  ) {}

  async execute({ provider, items }: RecordNotificationCommand): Promise<NotificationResult[]> {
    const counters = this.countersFor(provider);
    // One forged item taints the whole request: nothing in it is trusted. A Graph body with no
    // items asks for nothing, and nothing in it is wrong: accepted, with nothing done.
    if (items.length === 0) return [];
    if (items.some((item) => !item.secretValid)) {
      counters.forbidden.inc();
      throw new InvalidChannelTokenError();
    }
    if (items.length === 1) {
      const result = await this.record(items[0]);
      counters[result].inc();
      return [result];
    }
    const results = await Promise.all(items.map((item) => this.record(item)));
    for (const result of results) counters[result].inc();
    return results;
  }

  private async record(item: WebhookItem): Promise<NotificationResult> {
    const channel = item.channelId ? await this.intake.findChannel(item.channelId) : null;
    if (!channel || (item.resourceId && channel.resourceId && channel.resourceId !== item.resourceId)) return 'unknown_channel';
    // A channel a renewal replaced still notifies for a while; its successor notifies too.
    if (channel.superseded) return 'superseded_channel';
    switch (item.kind) {
      case 'changed':
      case 'missed':
        await this.intake.requestSync(channel.selectedCalendarId, `push:${item.kind}`);
        return 'accepted';
      case 'hello':
        // The channel's hello: syncing on it catches up on anything since the last cursor.
        await this.intake.requestSync(channel.selectedCalendarId, 'push:hello');
        return 'sync_state';
      case 'reauthorize':
      case 'removed': {
        const operation = item.kind === 'removed' ? 'recreate' : 'reauthorize';
        await this.jobs.enqueueJob(
          CHANNEL_LIFECYCLE_JOB,
          { selectedCalendarId: channel.selectedCalendarId, operation, channelId: item.channelId },
          channelLifecycleJobOptions(channel.selectedCalendarId),
        );
        if (item.kind === 'removed') await this.intake.requestSync(channel.selectedCalendarId, 'push:removed');
        return 'lifecycle';
      }
    }
  }

  private countersFor(provider: ProviderName): Record<Outcome, { inc(): void }> {
    let counters = this.received.get(provider);
    if (!counters) {
      counters = Object.fromEntries(
        OUTCOMES.map((result) => [result, this.metrics.notificationsReceived.labels({ provider, result })]),
      ) as Record<Outcome, { inc(): void }>;
      this.received.set(provider, counters);
    }
    return counters;
  }
}
