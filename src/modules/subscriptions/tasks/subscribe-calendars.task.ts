import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { SelectedCalendarEntity } from '../../connections/entities/selected-calendar.entity.js';
import { CACHE_FLAG, FeatureFlagService, SYNC_FLAG } from '../../feature-flags/feature-flag.service.js';
import { CalendarProviders } from '../../providers/calendar-provider.port.js';
import { ChannelManager } from '../channel-manager.js';

export interface SubscribeSummary {
  calendars: number;
  watched: number;
  renewed: number;
  stopped: number;
  failed: number;
  deferred: number;
}

type Row = SelectedCalendarEntity & { credentialStatus: string; isDestination: boolean; hasBookings: boolean };

const CONCURRENCY = 4;

/**
 * Decides, for every followed calendar, whether a channel is needed: a selected calendar of a user
 * with the cache flag on, or the calendar holding a sync-flagged user's bookings (their destination
 * calendar, or one an event was moved to). One channel serves both purposes. Opens missing
 * channels, renews those about to expire, stops those nobody needs.
 */
@Injectable()
export class SubscribeCalendarsTask {
  private readonly logger = new Logger('SubscribeCalendars');

  constructor(
    private readonly dataSource: DataSource,
    private readonly flags: FeatureFlagService,
    private readonly channels: ChannelManager,
    private readonly providers: CalendarProviders,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(): Promise<SubscribeSummary> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT sc.*, c."status" AS "credentialStatus",
              EXISTS (SELECT 1 FROM "DestinationCalendar" d WHERE d."selectedCalendarId" = sc."id") AS "isDestination",
              EXISTS (SELECT 1 FROM "BookingReference" r JOIN "Booking" b ON b."id" = r."bookingId"
                       WHERE r."credentialId" = sc."credentialId" AND r."externalCalendarId" = sc."externalId"
                         AND r."deletedAt" IS NULL AND b."status" = 'accepted' AND b."endTime" > now()) AS "hasBookings"
         FROM "SelectedCalendar" sc JOIN "Credential" c ON c."id" = sc."credentialId"
        ORDER BY sc."id"`,
    );
    const userIds = [...new Set(rows.map((r) => r.userId))];
    const [cache, sync] = await Promise.all([
      this.flags.resolveMany(CACHE_FLAG, userIds),
      this.flags.resolveMany(SYNC_FLAG, userIds),
    ]);
    const summary: SubscribeSummary = { calendars: rows.length, watched: 0, renewed: 0, stopped: 0, failed: 0, deferred: 0 };
    const renewBefore = Date.now() + this.config.subscriptionRenewBeforeSeconds * 1000;
    const now = Date.now();

    const work: Array<() => Promise<void>> = [];
    for (const row of rows) {
      const cacheOn = row.busySource && (cache.get(row.userId)?.enabled ?? false);
      const syncOn = (row.isDestination || row.hasBookings) && (sync.get(row.userId)?.enabled ?? false);
      const usable = row.credentialStatus === 'active' && this.providers.has(row.integration);
      const needed = usable && (cacheOn || syncOn);
      const expiration = row.channelExpiration ? new Date(row.channelExpiration).getTime() : 0;

      if (!needed) {
        const dropCache = row.cacheEnabled && !cacheOn;
        if (row.channelId || dropCache) {
          work.push(async () => {
            await this.channels.unwatch(row, dropCache);
            summary.stopped += 1;
          });
        }
        continue;
      }
      if (row.cacheEnabled && !cacheOn) work.push(() => this.channels.requestSync(row.id));
      if (row.channelId && expiration > renewBefore) continue;
      if (row.nextSubscribeAttemptAt && new Date(row.nextSubscribeAttemptAt).getTime() > now) {
        summary.deferred += 1;
        continue;
      }
      const operation = row.channelId && expiration > now ? 'renew' : 'watch';
      work.push(async () => {
        try {
          await this.channels.watch(row, operation);
          if (operation === 'renew') summary.renewed += 1;
          else summary.watched += 1;
        } catch (error) {
          summary.failed += 1;
          this.logger.warn(`Calendar ${row.id}: ${operation} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      });
    }
    await runWithConcurrency(work, CONCURRENCY);
    return summary;
  }
}

async function runWithConcurrency(work: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, work.length) }, async () => {
    while (next < work.length) {
      const item = work[next++];
      await item();
    }
  });
  await Promise.all(lanes);
}
