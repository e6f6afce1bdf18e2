import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { SyncModule } from '../sync/sync.module.js';
import { AdminSyncController } from './admin-sync.controller.js';
import { ChannelManager } from './channel-manager.js';
import { ChannelStore } from './channel-store.js';
import { RecordNotificationHandler } from './commands/record-notification/record-notification.handler.js';
import { ChannelLifecycleJob } from './jobs/channel-lifecycle.job.js';
import { RunTaskJob } from './jobs/run-task.job.js';
import { StopChannelJob } from './jobs/stop-channel.job.js';
import { SubscriptionsChangedHandler } from './jobs/subscriptions-changed.handler.js';
import { NotificationIntake } from './notification-intake.js';
import { TaskRunner } from './task-runner.js';
import { CleanupCacheTask } from './tasks/cleanup-cache.task.js';
import { ResealCredentialsTask } from './tasks/reseal-credentials.task.js';
import { ResyncCalendarsTask } from './tasks/resync-calendars.task.js';
import { SubscribeCalendarsTask } from './tasks/subscribe-calendars.task.js';
import { WebhooksController } from './webhooks.controller.js';

@Module({
  imports: [ConnectionsModule, SyncModule, ProvidersModule],
  controllers: [AdminSyncController],
  providers: [
    ChannelManager,
    ChannelStore,
    ChannelLifecycleJob,
    NotificationIntake,
    RecordNotificationHandler,
    SubscribeCalendarsTask,
    ResyncCalendarsTask,
    CleanupCacheTask,
    ResealCredentialsTask,
    TaskRunner,
    RunTaskJob,
    StopChannelJob,
    SubscriptionsChangedHandler,
    WebhooksController,
  ],
  exports: [TaskRunner],
})
export class SubscriptionsModule {}
