import { Global, Module } from '@nestjs/common';
import { JobHandlerRegistry } from './job-handler.registry.js';
import { JobQueue } from './job-queue.js';
import { JobWorker } from './job-worker.js';

@Global()
@Module({
  providers: [JobQueue, JobHandlerRegistry, JobWorker],
  exports: [JobQueue, JobHandlerRegistry, JobWorker],
})
export class QueueModule {}
