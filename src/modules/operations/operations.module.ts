import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ProvidersModule } from '../providers/providers.module.js';
import { OperationsController } from './operations.controller.js';
import { ScrapeGauges } from './scrape-gauges.js';

// terminus logs nothing: a failing readiness is the answer itself (and expected while draining).
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ProvidersModule],
  controllers: [OperationsController],
  providers: [ScrapeGauges],
})
export class OperationsModule {}
