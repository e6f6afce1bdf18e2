import { Command } from '@nestjs/cqrs';

export type NotificationResult = 'accepted' | 'sync_state' | 'unknown_channel' | 'superseded_channel';

/** A Google push, as headers: it only says "this calendar changed". */
export class RecordGoogleNotificationCommand extends Command<NotificationResult> {
  constructor(
    readonly channelId: string | undefined,
    readonly token: string | undefined,
    readonly resourceId: string | undefined,
    readonly resourceState: string | undefined,
    readonly messageNumber: string | undefined,
  ) {
    super();
  }
}
