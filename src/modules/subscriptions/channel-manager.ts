import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig, type ProviderName } from '../../config/app-config.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import { CredentialAuthFactory } from '../connections/credential-auth.factory.js';
import { SelectedCalendarEntity } from '../connections/entities/selected-calendar.entity.js';
import { CalendarProviders } from '../providers/calendar-provider.port.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from '../sync/sync.constants.js';

export const WEBHOOK_PATH = '/api/webhooks/calendar-subscription';

/**
 * Provider channels, one per (credential, calendar). Owns the channel columns of SelectedCalendar.
 * Renewal watches anew first and stops the old channel after, so no change falls in a gap.
 */
@Injectable()
export class ChannelManager {
  private readonly logger = new Logger('ChannelManager');

  constructor(
    private readonly dataSource: DataSource,
    private readonly providers: CalendarProviders,
    private readonly credentials: CredentialAuthFactory,
    private readonly jobs: JobQueue,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  webhookAddress(provider: ProviderName): string {
    const base = provider === 'office365_calendar' ? this.config.microsoft.webhookUrl : this.config.google.webhookUrl;
    return `${base}${WEBHOOK_PATH}/${provider}`;
  }

  private token(provider: ProviderName): string {
    return provider === 'office365_calendar' ? this.config.microsoft.webhookToken : this.config.google.webhookToken;
  }

  /** Opens a channel (or replaces the current one) and queues a sync to catch up. */
  async watch(calendar: SelectedCalendarEntity, operation: 'watch' | 'renew'): Promise<void> {
    const provider = this.providers.get(calendar.integration);
    const { auth } = await this.credentials.open(calendar.credentialId);
    const channelId = `calsync-${calendar.id}-${randomBytes(12).toString('hex')}`;
    try {
      const channel = await provider.watch(auth, calendar.externalId, {
        channelId,
        address: this.webhookAddress(provider.name),
        token: this.token(provider.name),
        ttlSeconds: this.config.channelTtlSeconds,
      });
      const previous = { id: calendar.channelId, resourceId: calendar.channelResourceId };
      await this.dataSource.transaction(async (manager) => {
        await manager.query(
          `UPDATE "SelectedCalendar" SET "channelId" = $2, "channelResourceId" = $3, "channelResourceUri" = $4,
                  "channelKind" = $5, "channelExpiration" = $6, "syncSubscribedAt" = now(), "nextSubscribeAttemptAt" = NULL,
                  "lastError" = NULL, "updatedAt" = now()
            WHERE "id" = $1`,
          [calendar.id, channel.id, channel.resourceId, channel.resourceUri, channel.kind, channel.expiration],
        );
        // Catch up on whatever changed while no channel was listening.
        await this.jobs.enqueue(
          SYNC_CALENDAR_JOB,
          { selectedCalendarId: calendar.id, reason: operation },
          syncJobOptions(calendar.id),
          manager,
        );
      });
      this.metrics.subscriptions.inc({ provider: provider.name, operation, result: 'ok' });
      if (previous.id) await this.stopQuietly(calendar.integration, calendar.credentialId, previous.id, previous.resourceId);
    } catch (error) {
      this.metrics.subscriptions.inc({ provider: provider.name, operation, result: 'error' });
      await this.recordFailure(calendar, error);
      throw error;
    }
  }

  async requestSync(selectedCalendarId: number): Promise<void> {
    await this.jobs.enqueue(
      SYNC_CALENDAR_JOB,
      { selectedCalendarId, reason: 'purpose changed' },
      syncJobOptions(selectedCalendarId),
    );
  }

  /** Stops the channel and forgets it; the cursor goes too, since changes will no longer be followed. */
  async unwatch(calendar: SelectedCalendarEntity, dropCache: boolean): Promise<void> {
    if (calendar.channelId) {
      await this.stopQuietly(calendar.integration, calendar.credentialId, calendar.channelId, calendar.channelResourceId);
    }
    await this.dataSource.transaction(async (manager) => {
      await manager.query(
        `UPDATE "SelectedCalendar" SET "channelId" = NULL, "channelResourceId" = NULL, "channelResourceUri" = NULL,
                "channelKind" = NULL, "channelExpiration" = NULL, "syncToken" = NULL,
                "cacheEnabled" = CASE WHEN $2 THEN false ELSE "cacheEnabled" END,
                "cacheCoveredUntil" = CASE WHEN $2 THEN NULL ELSE "cacheCoveredUntil" END, "updatedAt" = now()
          WHERE "id" = $1`,
        [calendar.id, dropCache],
      );
      if (dropCache) await manager.query(`DELETE FROM "CalendarCacheEvent" WHERE "selectedCalendarId" = $1`, [calendar.id]);
    });
  }

  async stopQuietly(
    provider: ProviderName,
    credentialId: number,
    channelId: string,
    resourceId: string | null,
    sealedKey?: string,
  ): Promise<boolean> {
    try {
      const auth = sealedKey
        ? this.credentials.authFromSealed(credentialId, sealedKey)
        : await this.credentials
            .open(credentialId)
            .then(({ credential, auth }) => (credential.status === 'active' ? auth : null));
      if (!auth) return false;
      await this.providers.get(provider).stopWatch(auth, { id: channelId, resourceId });
      this.metrics.subscriptions.inc({ provider, operation: 'stop', result: 'ok' });
      return true;
    } catch (error) {
      // A channel we fail to stop expires by itself; its pushes are answered and ignored.
      this.metrics.subscriptions.inc({ provider, operation: 'stop', result: 'error' });
      this.logger.warn(`Could not stop channel ${channelId}: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  private async recordFailure(calendar: SelectedCalendarEntity, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const failures = calendar.syncErrorCount + 1;
    // Exponential backoff with jitter: 30 s, 1 min, 2 min … capped at an hour.
    const delayMs = Math.min(3600_000, 30_000 * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
    await this.dataSource.query(
      `UPDATE "SelectedCalendar" SET "syncErrorAt" = now(), "syncErrorCount" = "syncErrorCount" + 1, "lastError" = $2,
              "nextSubscribeAttemptAt" = now() + ($3::int * interval '1 millisecond'), "updatedAt" = now()
        WHERE "id" = $1`,
      [calendar.id, `subscribe failed: ${message}`.slice(0, 500), Math.round(delayMs)],
    );
  }
}
