import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { withTimeout } from '../../common/async/with-timeout.js';

/** Outcomes of a webhook delivery attempt, each exported from the start (at 0) so `increase()` sees the first. */
const DELIVERY_RESULTS = ['delivered', 'retrying', 'failed', 'gone'] as const;

/** How long a scrape waits for the webhook backlog's statement (see `SCRAPE_QUERY_TIMEOUT_MS`). */
const BACKLOG_TIMEOUT_MS = 2000;

/** Every Prometheus series calsync exports. One registry per app, so tests can run apps side by side. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly notificationsReceived = new Counter({
    name: 'calsync_notifications_received_total',
    help: 'Provider push notifications received, by provider and result',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry],
  });

  readonly syncRuns = new Counter({
    name: 'calsync_sync_runs_total',
    help: 'Calendar sync runs, by provider, kind (full/incremental) and result',
    labelNames: ['provider', 'kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly syncDuration = new Histogram({
    name: 'calsync_sync_duration_seconds',
    help: 'Duration of calendar sync runs',
    labelNames: ['provider', 'kind'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly syncHolds = new Counter({
    name: 'calsync_sync_holds_total',
    help: 'Sync runs whose cancellations were held for a person (more than SYNC_MASS_CANCEL_THRESHOLD), by provider',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly eventsApplied = new Counter({
    name: 'calsync_events_applied_total',
    help: 'Provider events applied to the cache, by provider and operation (upsert/delete)',
    labelNames: ['provider', 'operation'] as const,
    registers: [this.registry],
  });

  readonly bookingChanges = new Counter({
    name: 'calsync_booking_changes_total',
    help: 'Bookings changed, by action (rescheduled/cancelled/updated) and source',
    labelNames: ['action', 'source'] as const,
    registers: [this.registry],
  });

  readonly providerCalls = new Counter({
    name: 'calsync_provider_api_calls_total',
    help: 'Calls to provider APIs, by provider, method and result',
    labelNames: ['provider', 'method', 'result'] as const,
    registers: [this.registry],
  });

  /**
   * Latency of each provider call (after its answer or failure; a retried call counts each
   * attempt), next to `calsync_provider_api_calls_total`, which counts them with the failure kind.
   * `result` is only ok/error here, to keep the histogram's series few.
   */
  readonly providerCallDuration = new Histogram({
    name: 'calsync_provider_api_call_duration_seconds',
    help: 'Duration of calls to provider APIs, by provider, method and result (ok/error)',
    labelNames: ['provider', 'method', 'result'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  /** Counts a provider call (`result`: ok or the failure kind) and times it from `startedAt` (performance.now()). */
  recordProviderCall(labels: { provider: string; method: string; result: string }, startedAt: number): void {
    this.providerCalls.inc(labels);
    this.providerCallDuration.observe(
      { provider: labels.provider, method: labels.method, result: labels.result === 'ok' ? 'ok' : 'error' },
      (performance.now() - startedAt) / 1000,
    );
  }

  readonly httpDuration = new Histogram({
    name: 'calsync_http_request_duration_seconds',
    help: 'HTTP answers by method, route pattern and status, from arrival to the last byte sent',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly busyTimeDuration = new Histogram({
    name: 'calsync_busy_time_duration_seconds',
    help: 'Time to answer a busy-times query, by source (cache/live/mixed)',
    labelNames: ['source'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  // Read from the database on scrape (the operations module's `ScrapeGauges`): they describe the
  // whole deployment, so every replica reports the same values; aggregate them with max, not sum.
  readonly queueJobs = new Gauge({
    name: 'calsync_queue_jobs',
    help: 'Jobs in the queue by task and state (ready: due and waiting for a worker; scheduled: due later; running; failed: out of attempts)',
    labelNames: ['task', 'state'] as const,
    registers: [this.registry],
  });

  readonly queueOldestJobAge = new Gauge({
    name: 'calsync_queue_oldest_job_age_seconds',
    help: 'How long the oldest ready job has been due, by task (0 when none waits)',
    labelNames: ['task'] as const,
    registers: [this.registry],
  });

  readonly channelsInRenewalWindow = new Gauge({
    name: 'calsync_channels_in_renewal_window',
    help: 'Push channels (Google) and subscriptions (Graph) expiring within SUBSCRIPTION_RENEW_BEFORE_SECONDS, still unexpired',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly channelsExpired = new Gauge({
    name: 'calsync_channels_expired',
    help: 'Push channels and subscriptions past their expiration (pushes no longer arrive; only the resync sweep keeps the calendar current)',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly channelSoonestExpiry = new Gauge({
    name: 'calsync_channel_soonest_expiry_seconds',
    help: 'Seconds until the first unexpired channel or subscription expires (absent when there is none)',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly channelsWithStaleSecret = new Gauge({
    name: 'calsync_channels_stale_secret',
    help:
      'During a rotation (…_WEBHOOK_TOKEN_PREVIOUS set), live channels and subscriptions still carrying the previous token, ' +
      'or opened before fingerprints were recorded (replaced by subscribe-calendars; at 0, the previous token can go)',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly calendarsInError = new Gauge({
    name: 'calsync_calendars_in_error',
    help: 'Selected calendars whose last sync failed (status error in the admin list), by provider',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly busyTimeRequests = new Counter({
    name: 'calsync_busy_time_requests_total',
    help: 'Busy-time requests, by source (cache/live/mixed)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly providerCallsSaved = new Counter({
    name: 'calsync_provider_calls_saved_total',
    help: 'Provider busy-time calls avoided by answering from the cache',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly cacheRows = new Gauge({
    name: 'calsync_cache_events',
    help: 'Rows in the busy-time cache (refreshed on scrape)',
    registers: [this.registry],
  });

  readonly subscriptions = new Counter({
    name: 'calsync_subscription_operations_total',
    help: 'Provider channel operations, by provider, operation (watch/renew/reauthorize/recreate/replace/stop) and result',
    labelNames: ['provider', 'operation', 'result'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'calsync_webhook_deliveries_total',
    help: 'Outgoing webhook delivery attempts, by result (delivered/retrying/failed/gone)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly webhookLatency = new Histogram({
    name: 'calsync_webhook_delivery_latency_seconds',
    help: 'From the change (its event recorded, in the transaction of the change) to a 2xx from the endpoint',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    registers: [this.registry],
  });

  /** Set on scrape by whoever owns the deliveries (`webhookBacklogSource`). */
  webhookBacklogSource?: () => Promise<Array<{ endpointId: number; pending: number }>>;

  readonly webhookBacklog = new Gauge({
    name: 'calsync_webhook_backlog',
    help: 'Outgoing webhook deliveries not yet delivered nor given up, per enabled endpoint (refreshed on scrape)',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
    collect: async () => {
      if (!this.webhookBacklogSource) return;
      // A slow database or an exhausted pool keeps the previous values rather than holding the scrape.
      const backlog = await withTimeout(this.webhookBacklogSource(), BACKLOG_TIMEOUT_MS).catch(() => null);
      if (!backlog) return;
      this.webhookBacklog.reset();
      for (const { endpointId, pending } of backlog) this.webhookBacklog.set({ endpoint: String(endpointId) }, pending);
    },
  });

  constructor() {
    // Node's process metrics under their stock names (process_cpu_seconds_total, nodejs_heap_size_used_bytes…),
    // so ready-made Node.js dashboards work unchanged.
    collectDefaultMetrics({ register: this.registry });
    for (const result of DELIVERY_RESULTS) this.webhookDeliveries.inc({ result }, 0);
  }
}
