import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
import { CalendarCache } from '../../sync/ports/calendar-cache.port.js';

const ATTEMPTS = 3;

/** Drops cached events that have ended: they can never make anyone busy again. */
@Injectable()
export class CleanupCacheTask {
  constructor(
    private readonly dataSource: DataSource,
    private readonly cache: CalendarCache,
  ) {}

  async run(): Promise<{ deletedEvents: number }> {
    // A full sync reconciling the same calendar at that moment can deadlock with the delete (both
    // end by bumping the calendar's cacheVersion); PostgreSQL aborts one of them, and this side
    // simply tries again.
    for (let attempt = 1; ; attempt++) {
      try {
        return { deletedEvents: await this.cache.removeEnded(this.dataSource.manager, new Date()) };
      } catch (error) {
        const deadlock = error instanceof QueryFailedError && (error as QueryFailedError & { code?: string }).code === '40P01';
        if (!deadlock || attempt >= ATTEMPTS) throw error;
      }
    }
  }
}
