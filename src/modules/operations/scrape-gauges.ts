import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import { withTimeout } from '../../common/async/with-timeout.js';
import { CalendarProviders } from '../providers/calendar-provider.port.js';

interface QueueRow {
  task: string;
  state: 'ready' | 'blocked' | 'scheduled' | 'running' | 'failed';
  jobs: string;
  oldest_seconds: string | null;
}

interface CalendarRow {
  provider: string;
  in_error: string;
  renewal_due: string;
  expired: string;
  stale_secret: string;
  soonest_expiry_seconds: string | null;
}

/**
 * How long a scrape waits for its statements: well inside Prometheus's default 10 s scrape timeout,
 * so an exhausted pool or a slow database leaves the previous values instead of failing the scrape
 * (which would look like the replica being down).
 */
export const SCRAPE_QUERY_TIMEOUT_MS = 2000;

/**
 * The gauges read from the database when Prometheus scrapes: queue depth and age (graphile-worker's
 * jobs table), channels near or past expiry and calendars in error ("SelectedCalendar"), and the
 * cache's row estimate. Three statements, run together; the jobs table holds only unfinished jobs
 * (graphile-worker deletes a job when it succeeds) and "SelectedCalendar" one row per followed
 * calendar, so a scrape stays in the milliseconds at the scale bench's 6,000 calendars. A slow or
 * failing database leaves the previous values and never fails the scrape.
 */
@Injectable()
export class ScrapeGauges {
  private readonly logger = new Logger('Metrics');

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly providers: CalendarProviders,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async refresh(): Promise<void> {
    // Each provider's retired secret during a rotation (null otherwise): `WebhookSecrets.isStale`,
    // as subscribe-calendars decides it, in SQL.
    const secrets = this.providers.all().map((p) => ({
      name: p.name,
      retired: p.webhookSecrets.retiredFingerprint,
    }));
    try {
      const [queue, calendars, cacheRows] = await withTimeout(
        Promise.all([
          this.dataSource.query<QueueRow[]>(
            `SELECT t.identifier AS task,
                    CASE WHEN j.locked_at IS NOT NULL THEN 'running'
                         WHEN j.attempts >= j.max_attempts THEN 'failed'
                         WHEN j.run_at > now() THEN 'scheduled'
                         WHEN q.locked_at IS NOT NULL THEN 'blocked'
                         ELSE 'ready' END AS state,
                    count(*)::text AS jobs,
                    EXTRACT(EPOCH FROM now() - min(j.run_at))::text AS oldest_seconds
               FROM graphile_worker._private_jobs j
               JOIN graphile_worker._private_tasks t ON t.id = j.task_id
               LEFT JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id
              GROUP BY 1, 2`,
          ),
          this.dataSource.query<CalendarRow[]>(
            `SELECT integration AS provider,
                    count(*) FILTER (WHERE "syncErrorCount" > 0)::text AS in_error,
                    count(*) FILTER (WHERE "channelId" IS NOT NULL AND "channelExpiration" > now()
                                       AND "channelExpiration" <= now() + make_interval(secs => $1))::text AS renewal_due,
                    count(*) FILTER (WHERE "channelId" IS NOT NULL AND "channelExpiration" <= now())::text AS expired,
                    count(*) FILTER (WHERE "channelId" IS NOT NULL AND "channelExpiration" > now() AND p.retired IS NOT NULL
                                       AND ("channelSecretFingerprint" IS NULL OR "channelSecretFingerprint" = p.retired))::text AS stale_secret,
                    EXTRACT(EPOCH FROM min("channelExpiration") FILTER (WHERE "channelId" IS NOT NULL AND "channelExpiration" > now()) - now())::text
                      AS soonest_expiry_seconds
               FROM "SelectedCalendar"
               LEFT JOIN unnest($2::text[], $3::text[]) AS p(name, retired) ON p.name = integration
              GROUP BY 1`,
            [this.config.subscriptionRenewBeforeSeconds, secrets.map((s) => s.name), secrets.map((s) => s.retired)],
          ),
          // An estimate is enough for a gauge and stays cheap on a large cache.
          this.dataSource.query<Array<{ estimate: string }>>(
            `SELECT GREATEST(reltuples, 0)::bigint::text AS estimate FROM pg_class WHERE relname = 'CalendarCacheEvent'`,
          ),
        ]),
        SCRAPE_QUERY_TIMEOUT_MS,
      );
      this.setQueue(queue);
      this.setCalendars(calendars);
      this.metrics.cacheRows.set(Number(cacheRows[0]?.estimate ?? 0));
    } catch (error) {
      this.logger.warn(`Scrape gauges not refreshed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private setQueue(rows: QueueRow[]): void {
    const { queueJobs, queueOldestJobAge } = this.metrics;
    queueJobs.reset();
    queueOldestJobAge.reset();
    for (const row of rows) {
      queueJobs.set({ task: row.task, state: row.state }, Number(row.jobs));
      if (row.state === 'ready') queueOldestJobAge.set({ task: row.task }, Math.max(0, Number(row.oldest_seconds ?? 0)));
    }
    // Every known task reports, so an alert on the age sees 0 rather than no series when all is well.
    for (const task of new Set(rows.map((r) => r.task))) {
      if (!rows.some((r) => r.task === task && r.state === 'ready')) queueOldestJobAge.set({ task }, 0);
    }
  }

  private setCalendars(rows: CalendarRow[]): void {
    const { calendarsInError, channelsInRenewalWindow, channelsExpired, channelsWithStaleSecret, channelSoonestExpiry } =
      this.metrics;
    for (const gauge of [
      calendarsInError,
      channelsInRenewalWindow,
      channelsExpired,
      channelsWithStaleSecret,
      channelSoonestExpiry,
    ]) {
      gauge.reset();
    }
    // One row per provider with followed calendars, its counts 0 when all is well (alerts see 0, not nothing).
    for (const row of rows) {
      const labels = { provider: row.provider };
      calendarsInError.set(labels, Number(row.in_error));
      channelsInRenewalWindow.set(labels, Number(row.renewal_due));
      channelsExpired.set(labels, Number(row.expired));
      channelsWithStaleSecret.set(labels, Number(row.stale_secret));
      if (row.soonest_expiry_seconds !== null) channelSoonestExpiry.set(labels, Number(row.soonest_expiry_seconds));
    }
  }
}
