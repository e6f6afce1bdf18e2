import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
    help: 'Provider channel operations, by provider, operation (watch/renew/stop) and result',
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
    help: 'Outgoing webhook deliveries not yet delivered nor given up, per endpoint (refreshed on scrape)',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
    collect: async () => {
      if (!this.webhookBacklogSource) return;
      const backlog = await this.webhookBacklogSource().catch(() => null);
      if (!backlog) return;
      this.webhookBacklog.reset();
      for (const { endpointId, pending } of backlog) this.webhookBacklog.set({ endpoint: String(endpointId) }, pending);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'calsync_' });
  }
}
