import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module.js';
import { AvailabilityController } from './availability.controller.js';
import { GetBusyTimesHandler } from './queries/get-busy-times.handler.js';

@Module({
  imports: [ConnectionsModule],
  controllers: [AvailabilityController],
  providers: [GetBusyTimesHandler],
})
export class AvailabilityModule {}
