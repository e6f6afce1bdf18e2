import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CalendarCacheRepository } from '../../sync/calendar-cache.repository.js';

/** Drops cached events that have ended: they can never make anyone busy again. */
@Injectable()
export class CleanupCacheTask {
  constructor(
    private readonly dataSource: DataSource,
    private readonly cache: CalendarCacheRepository,
  ) {}

  async run(): Promise<{ deletedEvents: number }> {
    return { deletedEvents: await this.cache.removeEnded(this.dataSource.manager, new Date()) };
  }
}
