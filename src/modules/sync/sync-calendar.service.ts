import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { findById } from '../../infrastructure/database/find-by-id.js';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import type { ExternalEventDomainEvent } from '../bookings/events/external-event.events.js';
import { ExternalChangeRecorder, type MovedEvent, type SyncedCalendar } from '../bookings/external-change.recorder.js';
import { ConnectionsService } from '../connections/connections.service.js';
import { CredentialAuthFactory } from '../connections/credential-auth.factory.js';
import { SelectedCalendarEntity } from '../connections/entities/selected-calendar.entity.js';
import { CACHE_FLAG, FeatureFlagService, SYNC_FLAG } from '../feature-flags/feature-flag.service.js';
import { CalendarProvider, CalendarProviders } from '../providers/calendar-provider.port.js';
import type { ExternalEvent } from '../providers/external-event.js';
import type { ProviderAuth } from '../providers/provider-auth.js';
import { isProviderError } from '../providers/provider.errors.js';
import { type CacheWindow, CalendarCacheRepository } from './calendar-cache.repository.js';
import { planSync } from './domain/plan-sync.js';
import { cacheWindow } from './sync.constants.js';

export interface SyncOutcome {
  kind: 'full' | 'incremental' | 'skipped';
  pages: number;
  events: number;
  bookingChanges: number;
  reason?: string;
}

const MAX_MOVE_LOOKUPS = 20;

/**
 * One sync run of one calendar (the queue guarantees runs of a calendar never overlap).
 * Pages are applied in their own transactions; the cursor is saved with the last page, after
 * every effect, so a run that dies halfway is redone from the old cursor to the same state.
 */
@Injectable()
export class SyncCalendarService {
  private readonly logger = new Logger('SyncCalendar');

  constructor(
    private readonly dataSource: DataSource,
    private readonly providers: CalendarProviders,
    private readonly credentials: CredentialAuthFactory,
    private readonly connections: ConnectionsService,
    private readonly flags: FeatureFlagService,
    private readonly cache: CalendarCacheRepository,
    private readonly recorder: ExternalChangeRecorder,
    private readonly eventBus: EventBus,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async sync(selectedCalendarId: number, options: { full?: boolean } = {}): Promise<SyncOutcome> {
    const calendar = await findById(this.dataSource, SelectedCalendarEntity, selectedCalendarId);
    if (!calendar) return { kind: 'skipped', pages: 0, events: 0, bookingChanges: 0, reason: 'calendar removed' };
    const { credential, auth } = await this.credentials.open(calendar.credentialId);
    if (credential.status !== 'active') {
      return { kind: 'skipped', pages: 0, events: 0, bookingChanges: 0, reason: 'credential invalid' };
    }
    const [cacheOn, syncOn] = await Promise.all([
      this.flags.isEnabled(CACHE_FLAG, calendar.userId),
      this.flags.isEnabled(SYNC_FLAG, calendar.userId),
    ]);
    const writeCache = calendar.busySource && cacheOn;
    if (!writeCache && !syncOn) {
      return { kind: 'skipped', pages: 0, events: 0, bookingChanges: 0, reason: 'no feature needs this calendar' };
    }
    const provider = this.providers.get(calendar.integration);
    const window = this.window();
    const { full } = planSync({
      requestedFull: options.full ?? false,
      cursor: calendar.syncToken,
      cursorScope: provider.cursorScope,
      cursorWindowEnd: calendar.syncCursorWindowEnd,
      writeCache,
      cacheEnabled: calendar.cacheEnabled,
      cacheCoveredUntil: calendar.cacheCoveredUntil,
      windowEnd: window.end,
    });
    const started = process.hrtime.bigint();
    const kind = full ? 'full' : 'incremental';
    try {
      const outcome = await this.run(calendar, provider, auth, window, { full, writeCache, syncOn });
      this.metrics.syncRuns.inc({ provider: provider.name, kind: outcome.kind, result: 'ok' });
      this.metrics.syncDuration.observe(
        { provider: provider.name, kind: outcome.kind },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      return outcome;
    } catch (error) {
      this.metrics.syncRuns.inc({ provider: provider.name, kind, result: 'error' });
      await this.recordError(calendar.id, error);
      throw error;
    }
  }

  private async run(
    calendar: SelectedCalendarEntity,
    provider: CalendarProvider,
    auth: ProviderAuth,
    window: CacheWindow,
    mode: { full: boolean; writeCache: boolean; syncOn: boolean },
  ): Promise<SyncOutcome> {
    const startedAt = new Date();
    const synced: SyncedCalendar = {
      selectedCalendarId: calendar.id,
      userId: calendar.userId,
      credentialId: calendar.credentialId,
      provider: provider.name,
      externalCalendarId: calendar.externalId,
    };
    let full = mode.full;
    let cursor = full ? null : calendar.syncToken;
    let pageToken: string | null = null;
    let pages = 0;
    let events = 0;
    let bookingChanges = 0;
    const seen = new Set<string>();

    for (;;) {
      let page;
      try {
        page = await provider.listChanges(auth, { calendarId: calendar.externalId, cursor, pageToken, window });
      } catch (error) {
        if (isProviderError(error, 'cursor_expired') && !full) {
          // The provider forgot our cursor: start over with a full listing that reconciles the cache.
          this.logger.log(`Calendar ${calendar.id}: cursor expired, running a full resync`);
          full = true;
          cursor = null;
          pageToken = null;
          seen.clear();
          continue;
        }
        throw error;
      }
      pages += 1;
      // A page may repeat an entity (Graph's delta does, in no particular order): the last copy
      // wins, as in the cache. Without this a repeated removal or change of a booking's event was
      // confirmed and recorded once per copy (two outbox rows, two commands for one change).
      const pageEvents = lastCopyById(page.events);
      events += pageEvents.length;
      if (full) for (const e of pageEvents) seen.add(e.id);

      const last = !page.nextPageToken;
      const listed = mode.syncOn ? await this.confirmRemovals(provider, auth, synced, pageEvents) : pageEvents;
      let changed = listed;
      if (last && full && mode.syncOn)
        changed = [...changed, ...(await this.missingBookingEvents(provider, auth, synced, seen, window))];
      const moves = mode.syncOn ? await this.findMoves(synced, changed) : new Map<string, MovedEvent>();

      const applyPage = async (manager: EntityManager): Promise<ExternalEventDomainEvent[]> => {
        if (mode.writeCache) {
          const applied = await this.cache.applyPage(manager, calendar.id, listed, window, startedAt);
          this.metrics.eventsApplied.inc({ provider: provider.name, operation: 'upsert' }, applied.upserted);
          this.metrics.eventsApplied.inc({ provider: provider.name, operation: 'delete' }, applied.deleted);
        }
        const recorded = mode.syncOn ? await this.recorder.record(manager, synced, changed, moves) : [];
        if (last) {
          if (mode.writeCache && full) await this.cache.removeNotSeenSince(manager, calendar.id, startedAt);
          if (!mode.writeCache && calendar.cacheEnabled) await this.cache.clear(manager, calendar.id);
          await manager.query(
            `UPDATE "SelectedCalendar" SET "syncToken" = $2, "syncedAt" = now(), "syncErrorCount" = 0, "lastError" = NULL,
                    "cacheEnabled" = $3,
                    "cacheCoveredUntil" = CASE WHEN NOT $3 THEN NULL WHEN $4 THEN $5::timestamptz ELSE "cacheCoveredUntil" END,
                    "syncCursorWindowEnd" = CASE WHEN $4 THEN $5::timestamptz ELSE "syncCursorWindowEnd" END,
                    "updatedAt" = now()
              WHERE "id" = $1`,
            [calendar.id, page.nextCursor ?? cursor, mode.writeCache, full, window.end],
          );
        }
        return recorded;
      };
      // Nothing changed and nothing to reconcile (what most pushes during a storm find): only the
      // cursor moves, in one statement that needs no transaction around it.
      const cursorOnly = last && !full && changed.length === 0 && (mode.writeCache || !calendar.cacheEnabled);
      const domainEvents = cursorOnly ? await applyPage(this.dataSource.manager) : await this.dataSource.transaction(applyPage);
      bookingChanges += domainEvents.length;
      for (const event of domainEvents) this.eventBus.publish(event);
      for (const moved of moves.values()) {
        await this.connections.followCalendar(calendar.userId, moved.credentialId, moved.externalCalendarId);
      }
      if (last) break;
      pageToken = page.nextPageToken;
    }
    return { kind: full ? 'full' : 'incremental', pages, events, bookingChanges };
  }

  /**
   * A listing that cannot tell a deletion from an event leaving its view (Graph's `@removed`)
   * must not cancel a booking: each such removal of a booking's event is checked with a get. A
   * live event replaces the removal (it moved, perhaps out of the window); a missing one is a
   * confirmed deletion. Provider errors fail the run, which is retried: never guessed.
   */
  private async confirmRemovals(
    provider: CalendarProvider,
    auth: ProviderAuth,
    calendar: SyncedCalendar,
    events: ExternalEvent[],
  ): Promise<ExternalEvent[]> {
    if (!events.some((e) => e.status === 'cancelled' && e.removal !== 'deleted')) return events;
    const linked = new Set((await this.recorder.linkedDeletions(calendar, events)).map((d) => d.eventId));
    const resolved: ExternalEvent[] = [];
    for (const event of events) {
      if (event.status !== 'cancelled' || event.removal === 'deleted' || !linked.has(event.id)) {
        resolved.push(event);
        continue;
      }
      const current = await provider.getEvent(auth, calendar.externalCalendarId, event.id);
      resolved.push(current && current.status !== 'cancelled' ? current : { ...event, removal: 'deleted' });
    }
    return resolved;
  }

  /** Booking events a full listing did not return: deleted meanwhile, or outside what it covered. */
  private async missingBookingEvents(
    provider: CalendarProvider,
    auth: ProviderAuth,
    calendar: SyncedCalendar,
    seen: Set<string>,
    window: CacheWindow,
  ): Promise<ExternalEvent[]> {
    const missing = await this.recorder.referencesMissingFrom(calendar, seen, window.end);
    const found: ExternalEvent[] = [];
    for (const id of missing) {
      const event = await provider.getEvent(auth, calendar.externalCalendarId, id);
      found.push(event ?? cancelledPlaceholder(id));
    }
    return found;
  }

  /**
   * A booking event deleted here may have been moved by the host to another of their calendars
   * (same iCalUID there): that is not a cancellation.
   */
  private async findMoves(calendar: SyncedCalendar, events: ExternalEvent[]) {
    const moves = new Map<string, MovedEvent>();
    const deletions = await this.recorder.linkedDeletions(
      calendar,
      events.filter((e) => e.removal !== 'left_view'),
    );
    if (deletions.length === 0) return moves;
    const candidates = await this.connections.reachableCalendars(calendar.userId, MAX_MOVE_LOOKUPS);
    for (const { eventId, iCalUID } of deletions) {
      if (!iCalUID) continue;
      for (const candidate of candidates) {
        if (candidate.credentialId === calendar.credentialId && candidate.calendarId === calendar.externalCalendarId) continue;
        const target = this.providers.get(candidate.provider);
        const auth = this.credentials.authFor(candidate.credential);
        const matches = await target.findByICalUID(auth, candidate.calendarId, iCalUID).catch(() => []);
        if (matches.length > 0) {
          moves.set(eventId, {
            credentialId: candidate.credentialId,
            externalCalendarId: candidate.calendarId,
            event: matches[0],
          });
          break;
        }
      }
    }
    return moves;
  }

  private window(): CacheWindow {
    const { start, end } = cacheWindow(this.config.syncWindowDays);
    return { start: new Date(start), end: new Date(end) };
  }

  private async recordError(selectedCalendarId: number, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.warn(`Calendar ${selectedCalendarId}: sync failed: ${message}`);
    await this.dataSource
      .query(
        `UPDATE "SelectedCalendar" SET "syncErrorAt" = now(), "syncErrorCount" = "syncErrorCount" + 1, "lastError" = $2, "updatedAt" = now()
          WHERE "id" = $1`,
        [selectedCalendarId, message.slice(0, 500)],
      )
      .catch(() => undefined);
  }
}

/** One entry per event id, the last copy of each, in the order of their last copies. */
function lastCopyById(events: ExternalEvent[]): ExternalEvent[] {
  const latest = new Map<string, ExternalEvent>();
  for (const event of events) {
    latest.delete(event.id);
    latest.set(event.id, event);
  }
  return latest.size === events.length ? events : [...latest.values()];
}

function cancelledPlaceholder(id: string): ExternalEvent {
  return {
    id,
    iCalUID: null,
    status: 'cancelled',
    // A get found nothing: the event is gone.
    removal: 'deleted',
    start: null,
    end: null,
    isAllDay: false,
    startDate: null,
    endDate: null,
    busy: false,
    title: null,
    description: null,
    location: null,
    attendees: [],
    organizerEmail: null,
    recurringEventId: null,
    etag: null,
    updated: null,
    sequence: null,
  };
}
