import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import { type DeletionBrake, ExternalChangeRecorder, type MovedEvent, type RecordedChanges } from '../bookings/index.js';
import type { ExternalEvent } from '../providers/external-event.js';
import { violatedUniqueConstraint } from '../../common/errors/unique-violation.js';
import { CACHE_PRIMARY_KEY, CalendarCacheRepository } from './calendar-cache.repository.js';
import { SyncStateStore } from './ports/sync-state-store.port.js';
import type { SyncRun } from './sync-run.js';

/** One listed page, ready to apply. */
export interface SyncPage {
  /** The page's events, removals confirmed: what the cache gets. */
  listed: ExternalEvent[];
  /**
   * What the bookings side compares with its baselines: `listed`, plus on a full listing's last
   * page the booking events it did not return. Deletions wait for the last page (see
   * `SyncCalendarService.run`), so the brake below sees all of the run's at once.
   */
  changed: ExternalEvent[];
  /** Deleted booking events that live on in another calendar, by event id (see BookingEventLocator). */
  moves: Map<string, MovedEvent>;
  /** Whether the run is a full listing by now (a cursor the provider forgot turns it into one). */
  full: boolean;
  /**
   * The page's events no cached row of the calendar can hold yet: on a run that began as a full
   * listing over an empty cache, those not listed on an earlier page (null otherwise). They are
   * inserted without a conflict check (see `CalendarCacheRepository.applyPage`).
   */
  fresh: ReadonlySet<string> | null;
  /** The last page: the run's checkpoint is saved with it. */
  last: boolean;
  /** The cursor to save with the last page. */
  cursor: string | null;
  /** Too many cancellations at once are held for a person (`SYNC_MASS_CANCEL_THRESHOLD`). */
  brake: DeletionBrake | null;
}

/**
 * Applies one page of a sync run, in one transaction: the cache (one batched upsert and delete),
 * the booking changes (outbox rows, through ExternalChangeRecorder) and, with the last page, the
 * full listing's reconcile and the checkpoint (`SyncStateStore.saveCursor`), after every other
 * effect. A run that dies before that commit is redone from the old cursor to the same state.
 * Returns the domain events to publish once committed, and the hold the brake made, if any (in the
 * same transaction: a run that dies before the commit holds nothing and is redone).
 */
@Injectable()
export class SyncPageApplier {
  constructor(
    private readonly dataSource: DataSource,
    private readonly cache: CalendarCacheRepository,
    private readonly recorder: ExternalChangeRecorder,
    private readonly state: SyncStateStore,
    private readonly metrics: MetricsService,
  ) {}

  apply(run: SyncRun, page: SyncPage): Promise<RecordedChanges> {
    // Nothing changed and nothing to reconcile (what most pushes during a storm find): only the
    // cursor moves, in one statement that needs no transaction around it.
    const cursorOnly = page.last && !page.full && page.changed.length === 0 && (run.writeCache || !run.calendar.cacheEnabled);
    if (cursorOnly) return this.write(this.dataSource.manager, run, page);
    return this.dataSource
      .transaction((manager) => this.write(manager, run, page))
      .catch((error: unknown) => {
        // An event taken for new was cached after all: the whole transaction is undone, so the page
        // is simply written again, upserted as any other.
        if (page.fresh === null || violatedUniqueConstraint(error) !== CACHE_PRIMARY_KEY) throw error;
        return this.dataSource.transaction((manager) => this.write(manager, run, { ...page, fresh: null }));
      });
  }

  /** Whether the calendar has no cached event (before a full listing: its events are then all new). */
  cacheIsEmpty(selectedCalendarId: number): Promise<boolean> {
    return this.cache.isEmpty(this.dataSource.manager, selectedCalendarId);
  }

  private async write(manager: EntityManager, run: SyncRun, page: SyncPage): Promise<RecordedChanges> {
    const { calendar } = run;
    if (run.writeCache) {
      const applied = await this.cache.applyPage(manager, calendar.id, page.listed, run.window, run.startedAt, page.fresh);
      this.metrics.eventsApplied.inc({ provider: run.provider.name, operation: 'upsert' }, applied.upserted);
      this.metrics.eventsApplied.inc({ provider: run.provider.name, operation: 'delete' }, applied.deleted);
    }
    const recorded: RecordedChanges = run.syncOn
      ? await this.recorder.record(manager, run.synced, page.changed, page.moves, page.brake)
      : { events: [], held: null };
    if (page.last) {
      if (run.writeCache && page.full) await this.cache.removeNotSeenSince(manager, calendar.id, run.startedAt);
      if (!run.writeCache && calendar.cacheEnabled) await this.cache.clear(manager, calendar.id);
      await this.state.saveCursor(manager, calendar.id, {
        cursor: page.cursor,
        cacheEnabled: run.writeCache,
        full: page.full,
        windowEnd: run.window.end,
      });
    }
    return recorded;
  }
}
