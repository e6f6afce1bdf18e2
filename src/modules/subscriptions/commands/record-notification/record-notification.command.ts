import { Command } from '@nestjs/cqrs';
import type { ProviderName } from '../../../../config/app-config.js';
import type { WebhookItem } from '../../../providers/webhook.js';

/** What became of one notification. */
export type NotificationResult = 'accepted' | 'sync_state' | 'lifecycle' | 'unknown_channel' | 'superseded_channel';

/**
 * The notifications of one provider webhook request (one for Google, up to many for several
 * subscriptions from Graph): each only says "this channel's calendar changed" or asks for a
 * channel life-cycle step. Every item's secret must match, or nothing is done.
 */
export class RecordNotificationCommand extends Command<NotificationResult[]> {
  constructor(
    readonly provider: ProviderName,
    readonly items: WebhookItem[],
  ) {
    super();
  }
}
