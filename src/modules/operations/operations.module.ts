import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { OperationsController } from './operations.controller.js';
import { ScrapeGauges } from './scrape-gauges.js';

// terminus logs nothing: a failing readiness is the answer itself (and expected while draining).
@Module({ imports: [TerminusModule.forRoot({ logger: false })], controllers: [OperationsController], providers: [ScrapeGauges] })
export class OperationsModule {}
