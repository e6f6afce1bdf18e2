import { ForbiddenException, Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { SecretMatcher } from '../../../infrastructure/crypto/constant-time.js';
import { MetricsService } from '../../../infrastructure/metrics/metrics.service.js';
import { NotificationIntake } from '../notification-intake.js';
import { type NotificationResult, RecordGoogleNotificationCommand } from './record-google-notification.command.js';

const PROVIDER = 'google_calendar';

/** Verifies the channel token, finds the channel, enqueues a sync. Never calls Google. */
@CommandHandler(RecordGoogleNotificationCommand)
export class RecordGoogleNotificationHandler implements ICommandHandler<RecordGoogleNotificationCommand> {
  private readonly channelToken: SecretMatcher;
  /** The push counter per result, with its labels bound once (this runs for every push). */
  private readonly received: Record<NotificationResult | 'forbidden', { inc(): void }>;

  constructor(
    private readonly intake: NotificationIntake,
    metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.channelToken = new SecretMatcher(config.google.webhookToken);
    const counter = (result: NotificationResult | 'forbidden') =>
      metrics.notificationsReceived.labels({ provider: PROVIDER, result });
    this.received = {
      accepted: counter('accepted'),
      sync_state: counter('sync_state'),
      unknown_channel: counter('unknown_channel'),
      superseded_channel: counter('superseded_channel'),
      forbidden: counter('forbidden'),
    };
  }

  async execute(command: RecordGoogleNotificationCommand): Promise<NotificationResult> {
    if (!this.channelToken.matches(command.token)) {
      this.received.forbidden.inc();
      throw new ForbiddenException('Invalid channel token');
    }
    const channel = command.channelId ? await this.intake.findChannel(command.channelId) : null;
    if (!channel || (command.resourceId && channel.resourceId && channel.resourceId !== command.resourceId)) {
      const superseded = command.channelId ? await this.intake.isSuperseded(command.channelId) : false;
      const result = superseded ? 'superseded_channel' : 'unknown_channel';
      this.received[result].inc();
      return result;
    }
    // `sync` is the channel's hello; syncing on it catches up on anything since the last cursor.
    const result: NotificationResult = command.resourceState === 'sync' ? 'sync_state' : 'accepted';
    await this.intake.requestSync(channel.selectedCalendarId, `push:${command.resourceState ?? 'unknown'}`);
    this.received[result].inc();
    return result;
  }
}
