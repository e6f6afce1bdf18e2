import { Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { DataSource, EntityManager } from 'typeorm';
import { onUniqueViolation } from '../../common/errors/unique-violation.js';
import type { ProviderName } from '../../config/app-config.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { GetUserQuery } from '../accounts/index.js';
import { CalendarProviders } from '../providers/calendar-provider.port.js';
import type { ExternalCalendar } from '../providers/external-event.js';
import type { ProviderTokens } from '../providers/provider-auth.js';
import { STOP_CHANNEL_JOB, type StopChannelPayload, stopChannelJobOptions } from '../subscriptions/subscriptions.jobs.js';
import { SyncStateStore } from '../sync/ports/sync-state-store.port.js';
import {
  CalendarAlreadySelectedError,
  CalendarNotInListError,
  ConcurrentCalendarChangeError,
  CredentialInvalidError,
  CredentialNotFoundError,
  DESTINATION_CALENDAR_USER_KEY,
  ProviderNotEnabledError,
  SELECTED_CALENDAR_KEY,
  SelectedCalendarNotFoundError,
} from './connections.errors.js';
import { CredentialAuthFactory } from './credential-auth.factory.js';
import { CredentialEntity } from './entities/credential.entity.js';
import { DestinationCalendarEntity } from './entities/destination-calendar.entity.js';
import { SelectedCalendarEntity } from './entities/selected-calendar.entity.js';
import { isProviderError } from '../providers/provider.errors.js';

@Injectable()
export class ConnectionsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queries: QueryBus,
    private readonly providers: CalendarProviders,
    private readonly auth: CredentialAuthFactory,
    private readonly jobs: JobQueue,
    private readonly syncState: SyncStateStore,
  ) {}

  async createCredential(userId: number, provider: ProviderName, tokens: ProviderTokens): Promise<CredentialEntity> {
    await this.queries.execute(new GetUserQuery(userId));
    if (!this.providers.has(provider)) {
      throw new ProviderNotEnabledError(provider);
    }
    // The tokens are bound to the row's id (sealed once the id is drawn).
    return this.auth.insertCredential(
      this.dataSource.manager,
      { userId, provider, expiresAt: tokens.expiresAt ? new Date(tokens.expiresAt) : null },
      (id) => this.auth.seal(id, tokens),
    );
  }

  async listCredentials(userId: number): Promise<CredentialEntity[]> {
    await this.queries.execute(new GetUserQuery(userId));
    return this.dataSource.manager.find(CredentialEntity, { where: { userId }, order: { id: 'ASC' } });
  }

  /** Removing a credential stops its channels and drops its calendars and cached events at once. */
  async deleteCredential(userId: number, credentialId: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const credential = await this.ownedCredential(userId, credentialId, manager);
      const calendars = await manager.findBy(SelectedCalendarEntity, { credentialId });
      for (const calendar of calendars) await this.enqueueChannelStop(manager, calendar, credential);
      await manager.delete(CredentialEntity, { id: credential.id });
    });
  }

  async listProviderCalendars(userId: number, credentialId: number): Promise<ExternalCalendar[]> {
    const credential = await this.ownedCredential(userId, credentialId);
    this.assertActive(credential);
    return this.providers.get(credential.provider).listCalendars(this.auth.authFor(credential));
  }

  async addSelectedCalendar(userId: number, credentialId: number, externalId: string): Promise<SelectedCalendarEntity> {
    const credential = await this.ownedCredential(userId, credentialId);
    this.assertActive(credential);
    await this.assertCalendarExists(credential, externalId);
    const races = { [SELECTED_CALENDAR_KEY]: () => new ConcurrentCalendarChangeError(externalId) };
    return onUniqueViolation(races, () =>
      this.dataSource.transaction(async (manager) => {
        const existing = await manager.findOne(SelectedCalendarEntity, {
          where: { credentialId, externalId },
          lock: { mode: 'pessimistic_write' },
        });
        if (existing?.busySource) throw new CalendarAlreadySelectedError(externalId);
        if (existing) {
          existing.busySource = true;
          return manager.save(existing);
        }
        return manager.save(this.newSelectedCalendar(manager, credential, externalId, true));
      }),
    );
  }

  async listSelectedCalendars(userId: number): Promise<SelectedCalendarEntity[]> {
    await this.queries.execute(new GetUserQuery(userId));
    return this.dataSource.manager.find(SelectedCalendarEntity, {
      where: { userId, busySource: true },
      order: { id: 'ASC' },
    });
  }

  /**
   * Stops reading busy times from the calendar and drops its cached events. The channel stays
   * only while the calendar is still the user's destination calendar.
   */
  async removeSelectedCalendar(userId: number, id: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const calendar = await manager.findOne(SelectedCalendarEntity, {
        where: { id, userId, busySource: true },
        lock: { mode: 'pessimistic_write' },
      });
      if (!calendar) throw new SelectedCalendarNotFoundError(id, userId);
      const isDestination = await manager.existsBy(DestinationCalendarEntity, { selectedCalendarId: id });
      if (isDestination) {
        await manager.update(SelectedCalendarEntity, { id }, { busySource: false });
        // The cache is sync's (cacheEnabled, coverage, cached events): dropped through its port.
        await this.syncState.dropCache(manager, id);
        return;
      }
      const credential = await manager.findOneByOrFail(CredentialEntity, { id: calendar.credentialId });
      await this.enqueueChannelStop(manager, calendar, credential);
      await manager.delete(SelectedCalendarEntity, { id });
    });
  }

  async setDestinationCalendar(userId: number, credentialId: number, externalId: string) {
    const credential = await this.ownedCredential(userId, credentialId);
    this.assertActive(credential);
    await this.assertCalendarExists(credential, externalId);
    const races = {
      [SELECTED_CALENDAR_KEY]: () => new ConcurrentCalendarChangeError(externalId),
      [DESTINATION_CALENDAR_USER_KEY]: () => new ConcurrentCalendarChangeError(externalId),
    };
    return onUniqueViolation(races, () =>
      this.dataSource.transaction(async (manager) => {
        let calendar = await manager.findOne(SelectedCalendarEntity, {
          where: { credentialId, externalId },
          lock: { mode: 'pessimistic_write' },
        });
        calendar ??= await manager.save(this.newSelectedCalendar(manager, credential, externalId, false));
        const previous = await manager.findOneBy(DestinationCalendarEntity, { userId });
        if (previous) {
          await manager.update(
            DestinationCalendarEntity,
            { id: previous.id },
            { credentialId, externalId, selectedCalendarId: calendar.id },
          );
        } else {
          await manager.insert(DestinationCalendarEntity, { userId, credentialId, externalId, selectedCalendarId: calendar.id });
        }
        return { userId, credentialId, externalId, provider: credential.provider, selectedCalendarId: calendar.id };
      }),
    );
  }

  async getDestinationCalendar(userId: number) {
    const destination = await this.dataSource.manager.findOneBy(DestinationCalendarEntity, { userId });
    if (!destination) return null;
    const credential = await this.dataSource.manager.findOneByOrFail(CredentialEntity, { id: destination.credentialId });
    return { destination, credential };
  }

  /** Every calendar the user's active credentials can reach, up to `limit` (for finding moved events). */
  /**
   * Every calendar of every active credential of the user, as the providers list them now. A
   * provider that fails to answer fails the caller (the sync is retried): a guess would turn a
   * 429 into a cancellation. A credential whose grant turns out revoked is skipped (its calendars
   * cannot be read; it is marked invalid on the way).
   */
  async reachableCalendars(userId: number) {
    const credentials = await this.dataSource.manager.find(CredentialEntity, { where: { userId, status: 'active' } });
    const result: Array<{ credentialId: number; credential: CredentialEntity; provider: ProviderName; calendarId: string }> = [];
    for (const credential of credentials) {
      if (!this.providers.has(credential.provider)) continue;
      let calendars;
      try {
        calendars = await this.providers.get(credential.provider).listCalendars(this.auth.authFor(credential));
      } catch (error) {
        if (isProviderError(error, 'auth_revoked')) continue;
        throw error;
      }
      for (const calendar of calendars) {
        result.push({ credentialId: credential.id, credential, provider: credential.provider, calendarId: calendar.id });
      }
    }
    return result;
  }

  /** Makes sure calsync follows a calendar (for bookings living there), without reading busy times from it. */
  async followCalendar(userId: number, credentialId: number, externalId: string): Promise<void> {
    const credential = await this.dataSource.manager.findOneBy(CredentialEntity, { id: credentialId, userId });
    if (!credential) return;
    await this.dataSource.manager
      .createQueryBuilder()
      .insert()
      .into(SelectedCalendarEntity)
      .values(this.newSelectedCalendar(this.dataSource.manager, credential, externalId, false))
      .orIgnore()
      .execute();
  }

  private newSelectedCalendar(manager: EntityManager, credential: CredentialEntity, externalId: string, busySource: boolean) {
    return manager.create(SelectedCalendarEntity, {
      userId: credential.userId,
      credentialId: credential.id,
      integration: credential.provider,
      externalId,
      busySource,
      syncErrorCount: 0,
      cacheEnabled: false,
    });
  }

  private async enqueueChannelStop(manager: EntityManager, calendar: SelectedCalendarEntity, credential: CredentialEntity) {
    if (!calendar.channelId) return;
    const payload: StopChannelPayload = {
      provider: credential.provider,
      credentialId: credential.id,
      channel: {
        id: calendar.channelId,
        resourceId: calendar.channelResourceId,
        resourceUri: calendar.channelResourceUri,
        kind: calendar.channelKind,
        expiration: calendar.channelExpiration ? new Date(calendar.channelExpiration).toISOString() : null,
      },
      sealedKey: credential.encryptedKey,
    };
    await this.jobs.enqueueJob(STOP_CHANNEL_JOB, payload, stopChannelJobOptions(calendar.channelId), manager);
  }

  private async ownedCredential(userId: number, credentialId: number, manager = this.dataSource.manager) {
    await this.queries.execute(new GetUserQuery(userId));
    const credential = await manager.findOneBy(CredentialEntity, { id: credentialId, userId });
    if (!credential) throw new CredentialNotFoundError(credentialId, userId);
    return credential;
  }

  private assertActive(credential: CredentialEntity): void {
    if (credential.status !== 'active') throw new CredentialInvalidError(credential.id, credential.invalidReason);
  }

  private async assertCalendarExists(credential: CredentialEntity, externalId: string): Promise<void> {
    const calendars = await this.providers.get(credential.provider).listCalendars(this.auth.authFor(credential));
    if (!calendars.some((c) => c.id === externalId)) {
      throw new CalendarNotInListError(externalId, credential.id);
    }
  }
}
