import { Module } from '@nestjs/common';
import { ProvidersModule } from '../providers/providers.module.js';
import { ConnectionsController } from './connections.controller.js';
import { ConnectionsService } from './connections.service.js';
import { CredentialAuthFactory } from './credential-auth.factory.js';

@Module({
  imports: [ProvidersModule],
  controllers: [ConnectionsController],
  providers: [ConnectionsService, CredentialAuthFactory],
  exports: [ConnectionsService, CredentialAuthFactory, ProvidersModule],
})
export class ConnectionsModule {}
