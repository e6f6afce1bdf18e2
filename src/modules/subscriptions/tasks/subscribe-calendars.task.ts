import { Inject, Injectable, Logger } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { CalendarsWithUpcomingBookingsQuery } from '../../bookings/index.js';
import { type FollowedCalendar, ListFollowedCalendarsQuery } from '../../connections/index.js';
import { CACHE_FLAG, FeatureFlagService, SYNC_FLAG } from '../../feature-flags/index.js';
import { CalendarProviders } from '../../providers/calendar-provider.port.js';
import { ChannelManager } from '../channel-manager.js';
import { planChannel } from '../domain/plan-channel.js';

export interface SubscribeSummary {
  calendars: number;
  watched: number;
  renewed: number;
  /** Live channels replaced because they carry a webhook secret that was rotated away. */
  replaced: number;
  stopped: number;
  failed: number;
  deferred: number;
}

/**
 * Channel operations in flight at once. Each waits mostly on the provider (a watch or a PATCH, and
 * Graph validates the webhook with us before it answers), then holds a pool connection for one short
 * transaction. With 4, 6,000 calendars took minutes even against the loopback emulators (about
 * 40 ms a calendar each); 16 keeps a fresh deployment's first run under a minute and leaves most of
 * the pool (DATABASE_POOL_SIZE, 20 by default) to requests and syncs. The calendars come in id
 * order, so one account rarely has more than a few of the 16 in flight: below Graph's limit of 4
 * concurrent requests per mailbox for a user with up to 4 calendars.
 */
const CONCURRENCY = 16;

/**
 * Decides, for every followed calendar, whether a channel is needed: a selected calendar of a user
 * with the cache flag on, or the calendar holding a sync-flagged user's bookings (their destination
 * calendar, or one an event was moved to). One channel serves both purposes. Opens missing
 * channels, renews those about to expire, replaces those carrying a webhook secret that was rotated
 * away, stops those nobody needs.
 */
@Injectable()
export class SubscribeCalendarsTask {
  private readonly logger = new Logger('SubscribeCalendars');

  constructor(
    private readonly queries: QueryBus,
    private readonly flags: FeatureFlagService,
    private readonly channels: ChannelManager,
    private readonly providers: CalendarProviders,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(): Promise<SubscribeSummary> {
    // Connections' read model of the followed calendars, then bookings' answer to which of them
    // hold upcoming bookings (asked alongside the flags): one round trip each.
    const rows: FollowedCalendar[] = await this.queries.execute(new ListFollowedCalendarsQuery());
    const userIds = [...new Set(rows.map((r) => r.userId))];
    const [holding, cache, sync] = await Promise.all([
      this.queries.execute(
        new CalendarsWithUpcomingBookingsQuery(
          rows.map((r) => ({ credentialId: r.credentialId, externalCalendarId: r.externalId })),
        ),
      ),
      this.flags.resolveMany(CACHE_FLAG, userIds),
      this.flags.resolveMany(SYNC_FLAG, userIds),
    ]);
    const withBookings = new Set(holding.map((c) => calendarKey(c.credentialId, c.externalCalendarId)));
    const summary: SubscribeSummary = {
      calendars: rows.length,
      watched: 0,
      renewed: 0,
      replaced: 0,
      stopped: 0,
      failed: 0,
      deferred: 0,
    };
    const now = Date.now();

    const work: Array<() => Promise<void>> = [];
    for (const row of rows) {
      const cacheOn = row.busySource && (cache.get(row.userId)?.enabled ?? false);
      const hasBookings = withBookings.has(calendarKey(row.credentialId, row.externalId));
      const provider = this.providers.has(row.integration) ? this.providers.get(row.integration) : null;
      const plan = planChannel({
        cacheOn,
        syncOn: (row.isDestination || hasBookings) && (sync.get(row.userId)?.enabled ?? false),
        usable: row.credentialStatus === 'active' && provider !== null,
        cacheEnabled: row.cacheEnabled,
        hasChannel: row.channelId !== null,
        channelExpiration: row.channelExpiration ? new Date(row.channelExpiration).getTime() : null,
        secretStale: provider !== null && row.channelId !== null && provider.webhookSecrets.isStale(row.channelSecretFingerprint),
        nextAttemptAt: row.nextSubscribeAttemptAt ? new Date(row.nextSubscribeAttemptAt).getTime() : null,
        failing: row.syncErrorCount > 0,
        now,
        renewBeforeMs: this.config.subscriptionRenewBeforeSeconds * 1000,
      });
      if (plan.requestSync) work.push(() => this.channels.requestSync(row.id));
      if (plan.clearErrors) work.push(() => this.channels.forgetFailure(row.id));
      if (plan.action === 'keep') continue;
      if (plan.action === 'defer') {
        summary.deferred += 1;
        continue;
      }
      if (plan.action === 'stop') {
        work.push(async () => {
          await this.channels.unwatch(row, plan.dropCache);
          summary.stopped += 1;
        });
        continue;
      }
      const operation = plan.action;
      work.push(async () => {
        try {
          await this.channels.watch(row, operation);
          if (operation === 'renew') summary.renewed += 1;
          else if (operation === 'replace') summary.replaced += 1;
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

/** One key per (credential, calendar); a credential id never contains the separator. */
function calendarKey(credentialId: number, externalCalendarId: string): string {
  return `${credentialId}:${externalCalendarId}`;
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
