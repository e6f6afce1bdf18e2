import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module.js';
import { AvailabilityController } from './availability.controller.js';
import { GetBusyTimesHandler } from './queries/get-busy-times.handler.js';
import { ListCachedEventsHandler } from './queries/list-cached-events.handler.js';

@Module({
  imports: [ConnectionsModule],
  controllers: [AvailabilityController],
  providers: [GetBusyTimesHandler, ListCachedEventsHandler],
})
export class AvailabilityModule {}
