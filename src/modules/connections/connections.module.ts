import { Module } from '@nestjs/common';
import { ProvidersModule } from '../providers/providers.module.js';
import { SyncStateModule } from '../sync/sync-state.module.js';
import { ConnectionsController } from './connections.controller.js';
import { ConnectionsService } from './connections.service.js';
import { CredentialAuthFactory } from './credential-auth.factory.js';
import { OAuthFlows } from './oauth-flows.js';
import { ListFollowedCalendarsHandler } from './queries/list-followed-calendars.handler.js';
import { BusySourceCalendarsReadModel } from './read-models/busy-source-calendars.read-model.js';

@Module({
  // SyncStateModule imports nothing, so this is no cycle: sync's columns and cache, through its ports.
  imports: [ProvidersModule, SyncStateModule],
  controllers: [ConnectionsController],
  providers: [ConnectionsService, CredentialAuthFactory, OAuthFlows, BusySourceCalendarsReadModel, ListFollowedCalendarsHandler],
  exports: [ConnectionsService, CredentialAuthFactory, ProvidersModule, BusySourceCalendarsReadModel],
})
export class ConnectionsModule {}
