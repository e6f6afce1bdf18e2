import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig, type ProviderName } from '../../config/app-config.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import { CredentialAuthFactory, type SelectedCalendarRecord } from '../connections/index.js';
import { CalendarProvider, CalendarProviders } from '../providers/calendar-provider.port.js';
import type { ChannelHandle, WatchInput } from '../providers/external-event.js';
import type { ProviderAuth } from '../providers/provider-auth.js';
import { isProviderError } from '../providers/provider.errors.js';
import { SyncStateStore } from '../sync/ports/sync-state-store.port.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from '../sync/sync.jobs.js';
import { ChannelStore } from './channel-store.js';
import { STOP_CHANNEL_JOB, stopChannelJobOptions } from './subscriptions.jobs.js';

export const WEBHOOK_PATH = '/api/webhooks/calendar-subscription';

/**
 * A channel replaced for carrying a retired secret is stopped right after its successor is stored,
 * and again by a stop job queued in the same transaction this long after (a no-op when the first
 * stop worked): a process that dies in between, or a stop that fails, does not leave it notifying
 * with the old secret until it expires (Graph: up to a week), when that secret is refused.
 */
const REPLACED_STOP_BACKSTOP_MS = 60_000;

/**
 * - `watch`: open a channel (replacing any current one);
 * - `renew`: extend the current channel before it expires (or open a new one where the provider
 *   cannot extend);
 * - `reauthorize`: the provider asked for it (Graph life-cycle);
 * - `recreate`: the provider removed the channel; open a new one without stopping the old;
 * - `replace`: the channel carries a webhook secret that was rotated away: open a new one with the
 *   current secret, then stop the old (extending it would keep the old secret).
 */
export type ChannelOperation = 'watch' | 'renew' | 'reauthorize' | 'recreate' | 'replace';

/**
 * Provider channels, one per (credential, calendar). A channel is the provider's opaque handle,
 * stored through `ChannelStore`. A replacement is always stored before the channel it replaces is
 * stopped, so no change falls in a gap; the replaced one's late pushes are recognised as such.
 */
@Injectable()
export class ChannelManager {
  private readonly logger = new Logger('ChannelManager');

  constructor(
    private readonly dataSource: DataSource,
    private readonly providers: CalendarProviders,
    private readonly credentials: CredentialAuthFactory,
    private readonly store: ChannelStore,
    private readonly syncState: SyncStateStore,
    private readonly jobs: JobQueue,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  webhookAddress(provider: CalendarProvider): string {
    return `${provider.webhookBaseUrl}${WEBHOOK_PATH}/${provider.name}`;
  }

  private watchInput(calendar: SelectedCalendarRecord, provider: CalendarProvider, current: ChannelHandle | null): WatchInput {
    const address = this.webhookAddress(provider);
    return {
      channelId: `calsync-${calendar.id}-${randomBytes(12).toString('hex')}`,
      address,
      lifecycleAddress: `${address}/lifecycle`,
      ttlSeconds: this.config.channelTtlSeconds,
      currentChannelId: current?.id ?? null,
      // A calendar with a failure on record may owe it to a channel open whose answer was lost.
      recoverUnrecorded: calendar.syncErrorCount > 0,
      recordedAmong: (ids) => this.store.recordedAmong(ids),
    };
  }

  /** Opens, renews, reauthorizes or recreates the calendar's channel, then queues a catch-up sync. */
  async watch(calendar: SelectedCalendarRecord, operation: ChannelOperation): Promise<void> {
    const provider = this.providers.get(calendar.integration);
    const { auth, credential } = await this.credentials.open(calendar.credentialId);
    const current = ChannelStore.channelOf(calendar);
    try {
      const { channel, replaces } = await this.open(provider, auth, calendar, current, operation);
      const saved = await this.dataSource.transaction(async (manager) => {
        const stored = await this.store.save(
          manager,
          calendar.id,
          channel,
          current?.id ?? null,
          replaces && current ? current.id : null,
        );
        if (stored) {
          // A channel is open: whatever failed before is over (sync's column, through its port).
          await this.syncState.clearLastError(manager, calendar.id);
          // Catch up on whatever changed while no channel was listening.
          await this.jobs.enqueueJob(
            SYNC_CALENDAR_JOB,
            { selectedCalendarId: calendar.id, reason: operation },
            syncJobOptions(calendar.id),
            manager,
          );
          if (operation === 'replace' && current && current.id !== channel.id) {
            await this.jobs.enqueueJob(
              STOP_CHANNEL_JOB,
              {
                provider: calendar.integration,
                credentialId: calendar.credentialId,
                channel: { ...current, expiration: current.expiration.toISOString() },
                sealedKey: credential.encryptedKey,
              },
              { ...stopChannelJobOptions(current.id), delayMs: REPLACED_STOP_BACKSTOP_MS },
              manager,
            );
          }
        }
        return stored;
      });
      this.metrics.subscriptions.inc({ provider: provider.name, operation, result: saved ? 'ok' : 'superseded' });
      if (!saved) {
        // Another channel operation on this calendar won the race: ours is surplus (unless it is the
        // same channel, extended in place).
        if (channel.id !== current?.id) await this.stopQuietly(calendar.integration, calendar.credentialId, channel);
        return;
      }
      // A removed channel is gone already; any other replaced one is stopped only now that its successor is stored.
      if (replaces && current && operation !== 'recreate') {
        await this.stopQuietly(calendar.integration, calendar.credentialId, current);
      }
    } catch (error) {
      this.metrics.subscriptions.inc({ provider: provider.name, operation, result: 'error' });
      // A channel the provider removed, or asked to reauthorize, no longer delivers (or soon will
      // not), whatever expiration is stored: it counts as lapsed, so the minute's subscribe-calendars
      // opens a new one after the backoff even once the life-cycle job has used up its attempts.
      const lapsed = (operation === 'recreate' || operation === 'reauthorize') && current ? current.id : null;
      await this.recordFailure(calendar, error, lapsed);
      throw error;
    }
  }

  private async open(
    provider: CalendarProvider,
    auth: ProviderAuth,
    calendar: SelectedCalendarRecord,
    current: ChannelHandle | null,
    operation: ChannelOperation,
  ): Promise<{ channel: ChannelHandle; replaces: boolean }> {
    const input = this.watchInput(calendar, provider, current);
    if (current && (operation === 'renew' || operation === 'reauthorize')) {
      try {
        return operation === 'renew'
          ? await provider.renew(auth, calendar.externalId, current, input)
          : await provider.reauthorize(auth, calendar.externalId, current, input);
      } catch (error) {
        // The provider no longer knows the channel (expired, removed): open a new one.
        if (!isProviderError(error, 'not_found') && !isProviderError(error, 'gone')) throw error;
      }
    }
    return { channel: await provider.watch(auth, calendar.externalId, input), replaces: current !== null };
  }

  async requestSync(selectedCalendarId: number): Promise<void> {
    await this.jobs.enqueueJob(
      SYNC_CALENDAR_JOB,
      { selectedCalendarId, reason: 'purpose changed' },
      syncJobOptions(selectedCalendarId),
    );
  }

  /**
   * Stops the channel and forgets it; the cursor goes too (through sync's port), since changes will
   * no longer be followed, and with `dropCache` the cached events.
   */
  async unwatch(calendar: SelectedCalendarRecord, dropCache: boolean): Promise<void> {
    const current = ChannelStore.channelOf(calendar);
    if (current) await this.stopQuietly(calendar.integration, calendar.credentialId, current);
    await this.dataSource.transaction(async (manager) => {
      // Another operation stored a channel meanwhile (the calendar is wanted again): its cursor and cache stay.
      if (!(await this.store.clear(manager, calendar.id, current?.id ?? null))) return;
      await this.syncState.resetCursor(manager, calendar.id, { dropCache });
    });
  }

  /**
   * Neither flag wants the calendar followed any more: its last failure is forgotten (sync's
   * columns, through its port), and so is a channel attempt still due.
   */
  async forgetFailure(selectedCalendarId: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.syncState.forgetFailure(manager, selectedCalendarId);
      await this.store.forgetNextAttempt(manager, selectedCalendarId);
    });
  }

  async stopQuietly(provider: ProviderName, credentialId: number, channel: ChannelHandle, sealedKey?: string): Promise<boolean> {
    try {
      return await this.stop(provider, credentialId, channel, sealedKey);
    } catch (error) {
      // A channel we fail to stop expires by itself; its pushes are answered and ignored.
      this.logger.warn(`Could not stop channel ${channel.id}: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  /**
   * Stops the channel; throws when the provider failed in a way worth retrying (the stop job's
   * retry). False when there is no usable credential to ask with, or the provider refused for good
   * (a revoked grant): nothing more can be done, and the channel expires by itself.
   */
  async stop(provider: ProviderName, credentialId: number, channel: ChannelHandle, sealedKey?: string): Promise<boolean> {
    try {
      const auth = sealedKey
        ? this.credentials.authFromSealed(credentialId, sealedKey)
        : await this.credentials
            .open(credentialId)
            .then(({ credential, auth }) => (credential.status === 'active' ? auth : null));
      if (!auth) return false;
      await this.providers.get(provider).stopWatch(auth, channel);
      this.metrics.subscriptions.inc({ provider, operation: 'stop', result: 'ok' });
      return true;
    } catch (error) {
      this.metrics.subscriptions.inc({ provider, operation: 'stop', result: 'error' });
      if (isProviderError(error) && !error.retryable) {
        this.logger.warn(`Could not stop channel ${channel.id}: ${error.message}`);
        return false;
      }
      throw error;
    }
  }

  /** The failure is sync's error columns (through its port); the next attempt's time is ours. One transaction. */
  private async recordFailure(calendar: SelectedCalendarRecord, error: unknown, lapsedChannelId: string | null): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const failures = calendar.syncErrorCount + 1;
    // Exponential backoff with jitter: 30 s, 1 min, 2 min … capped at an hour.
    const delayMs = Math.min(3600_000, 30_000 * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
    await this.dataSource.transaction(async (manager) => {
      await this.syncState.recordError(calendar.id, `subscribe failed: ${message}`, manager);
      await this.store.deferNextAttempt(manager, calendar.id, delayMs);
      if (lapsedChannelId) await this.store.markLapsed(manager, calendar.id, lapsedChannelId);
    });
  }
}
