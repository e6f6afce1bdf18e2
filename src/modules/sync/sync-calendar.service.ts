import { Inject, Injectable, Logger } from '@nestjs/common';
import pLimit from 'p-limit';
import { EventBus } from '@nestjs/cqrs';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import { type DeletionBrake, ExternalChangeRecorder, type MovedEvent, type RecordedChanges } from '../bookings/index.js';
import { BookingEventLocator } from '../bookings/ports/booking-event-locator.port.js';
import { ConnectionsService, CredentialAuthFactory, CredentialUnreadableError } from '../connections/index.js';
import { CACHE_FLAG, FeatureFlagService, SYNC_FLAG } from '../feature-flags/index.js';
import { CalendarProviders } from '../providers/calendar-provider.port.js';
import type { ChangePage, ExternalEvent } from '../providers/external-event.js';
import { ProviderError, isProviderError } from '../providers/provider.errors.js';
import type { CacheWindow } from './calendar-cache.repository.js';
import { cancelledPlaceholder, deferDeletions, lastCopyById } from './domain/page-events.js';
import { planSync } from './domain/plan-sync.js';
import { CalendarSyncHeld } from './events/calendar-sync-held.event.js';
import { SyncStateStore } from './ports/sync-state-store.port.js';
import { CalendarToSyncReadModel } from './read-models/calendar-to-sync.read-model.js';
import { SyncPageApplier } from './sync-page.applier.js';
import type { SyncRun } from './sync-run.js';
import { cacheWindow } from './sync.constants.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { type LogFields, logLine } from '../../infrastructure/logging/logging.js';
import { syncBackoffUntil } from './domain/sync-backoff.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from './sync.jobs.js';

export interface SyncOutcome {
  kind: 'full' | 'incremental' | 'skipped';
  pages: number;
  events: number;
  bookingChanges: number;
  reason?: string;
  /** The run's cancellations were held for a person (`SYNC_MASS_CANCEL_THRESHOLD`). */
  held?: { holdId: number; count: number };
}

/** Reads of booking events a listing did not cover, in flight at once (see `bookingEventsAt`). */
const MISSING_READS_IN_FLIGHT = 4;

/** Where a run's listing stands between pages. */
interface ListingProgress {
  /** Starts as planned; a cursor the provider forgot turns the run into a full listing. */
  full: boolean;
  cursor: string | null;
  pageToken: string | null;
  /** Event ids a full listing returned so far (what it did not return is gone). */
  seen: Set<string>;
  pages: number;
  events: number;
  bookingChanges: number;
  /**
   * Deletions of earlier pages, by event id, waiting for the last page (see `deferDeletions`).
   * Forgotten with the rest when a forgotten cursor restarts the listing.
   */
  deletions: Map<string, ExternalEvent>;
  held: { holdId: number; count: number } | null;
}

/**
 * How long a calendar's syncs wait after a rate limit that named no time: Google's per-user quotas
 * are counted per minute, so the in-process retries (about a second and a half) rarely outlast one.
 */
export const RATE_LIMITED_PAUSE_MS = 30_000;

/**
 * One sync run of one calendar (the queue guarantees runs of a calendar never overlap), in named
 * steps: load and plan (`planSync`), then page by page fetch, confirm removals, find moved booking
 * events, apply (SyncPageApplier: one transaction; the cursor is saved with the last page, after
 * every effect, so a run that dies halfway is redone from the old cursor to the same state),
 * publish.
 *
 * The brake on mass cancellation: a run that would cancel more of the user's upcoming bookings than
 * `SYNC_MASS_CANCEL_THRESHOLD` holds them all for a person instead (ExternalChangeRecorder's
 * `DeletionBrake`); the bookings stay, and the run warns, counts `calsync_sync_holds_total` and
 * publishes `CalendarSyncHeld` (`calendar.sync_failed`). The run's deletions all reach the
 * bookings side with its last page, so the brake judges the run's total, exactly.
 */
@Injectable()
export class SyncCalendarService {
  private readonly logger = new Logger('SyncCalendar');
  /** Per calendar, when this process last read its booking events beyond a windowed cursor (`beyondCursorDue`). */
  private readonly beyondCursorReadAt = new Map<number, number>();

  constructor(
    private readonly calendars: CalendarToSyncReadModel,
    private readonly providers: CalendarProviders,
    private readonly credentials: CredentialAuthFactory,
    private readonly connections: ConnectionsService,
    private readonly flags: FeatureFlagService,
    private readonly recorder: ExternalChangeRecorder,
    private readonly locator: BookingEventLocator,
    private readonly applier: SyncPageApplier,
    private readonly state: SyncStateStore,
    private readonly eventBus: EventBus,
    private readonly metrics: MetricsService,
    private readonly jobs: JobQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * One sync of the calendar. What it logs carries `calendarId`, and `logFields` (the job's `jobId`
   * and `task`) when given.
   */
  async sync(
    selectedCalendarId: number,
    options: { full?: boolean; signal?: AbortSignal; logFields?: LogFields } = {},
  ): Promise<SyncOutcome> {
    const run = await this.loadAndPlan(selectedCalendarId, options);
    if ('skipped' in run) return { kind: 'skipped', pages: 0, events: 0, bookingChanges: 0, reason: run.skipped };
    run.signal = options.signal;
    run.logFields = { ...options.logFields, calendarId: selectedCalendarId };
    // A failing calendar backs off whatever asked for this run; an admin's full resync does not wait.
    const backoffUntil = options.full
      ? null
      : syncBackoffUntil(run.calendar.syncErrorCount, run.calendar.syncErrorAt, Date.now(), run.calendar.syncNotBefore);
    if (backoffUntil !== null) {
      await this.jobs.enqueueJob(
        SYNC_CALENDAR_JOB,
        { selectedCalendarId, reason: 'after backoff' },
        // Its own key: a waiting retry must not hold back (preserve_run_at) a sync asked for later,
        // once the wait is over or an admin clears the errors.
        { ...syncJobOptions(selectedCalendarId), jobKey: `sync-retry:${selectedCalendarId}`, delayMs: backoffUntil - Date.now() },
      );
      return { kind: 'skipped', pages: 0, events: 0, bookingChanges: 0, reason: 'backing off after failures' };
    }
    const { provider } = run;
    const started = process.hrtime.bigint();
    try {
      const outcome = await this.run(run);
      this.metrics.syncRuns.inc({ provider: provider.name, kind: outcome.kind, result: 'ok' });
      this.metrics.syncDuration.observe(
        { provider: provider.name, kind: outcome.kind },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      return outcome;
    } catch (error) {
      this.metrics.syncRuns.inc({ provider: provider.name, kind: run.full ? 'full' : 'incremental', result: 'error' });
      await this.recordError(run.calendar.id, error, run.logFields);
      throw error;
    }
  }

  /**
   * The calendar (identity, cursor and cache state: one row by id through `CalendarToSyncReadModel`,
   * without the ORM's query building, as this runs for every push), its credential and its owner's
   * flags; then the plan.
   * Skipped when the calendar is gone, its credential revoked, or no feature needs it.
   */
  private async loadAndPlan(
    selectedCalendarId: number,
    options: { full?: boolean; logFields?: LogFields },
  ): Promise<SyncRun | { skipped: string }> {
    // The calendar and its credential side by side (two connections, one round trip's wait).
    const [calendar, byCalendar] = await Promise.all([
      this.calendars.byId(selectedCalendarId),
      this.credentials.openForCalendar(selectedCalendarId).catch((error: unknown) => {
        if (error instanceof CredentialUnreadableError) return error;
        throw error;
      }),
    ]);
    if (!calendar) return { skipped: 'calendar removed' };
    let opened = byCalendar;
    try {
      // Unreadable, gone, or moved to another credential between the two reads (a reconnect): the
      // calendar's row decides, read by its credential id (which throws what is wrong with it).
      if (!opened || opened instanceof CredentialUnreadableError || opened.credential.id !== calendar.credentialId) {
        opened = await this.credentials.open(calendar.credentialId);
      }
    } catch (error) {
      // A key that does not open the tokens is this calendar's sync error (its state shows it), not
      // a failure outside the record; retrying cannot help until the key is fixed, so no backoff loop.
      if (!(error instanceof CredentialUnreadableError)) throw error;
      await this.recordError(calendar.id, error, { ...options.logFields, calendarId: calendar.id });
      return { skipped: 'credential cannot be opened with ENCRYPTION_KEY' };
    }
    const { credential, auth } = opened;
    if (credential.status !== 'active') return { skipped: 'credential invalid' };
    const [cacheOn, syncOn] = await Promise.all([
      this.flags.isEnabled(CACHE_FLAG, calendar.userId),
      this.flags.isEnabled(SYNC_FLAG, calendar.userId),
    ]);
    const writeCache = calendar.busySource && cacheOn;
    if (!writeCache && !syncOn) return { skipped: 'no feature needs this calendar' };
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
    return {
      calendar,
      synced: {
        selectedCalendarId: calendar.id,
        userId: calendar.userId,
        credentialId: calendar.credentialId,
        provider: provider.name,
        externalCalendarId: calendar.externalId,
      },
      provider,
      auth,
      window,
      full,
      writeCache,
      syncOn,
      startedAt: new Date(),
    };
  }

  private async run(run: SyncRun): Promise<SyncOutcome> {
    const progress: ListingProgress = {
      full: run.full,
      cursor: run.full ? null : run.calendar.syncToken,
      pageToken: null,
      seen: new Set(),
      pages: 0,
      events: 0,
      bookingChanges: 0,
      deletions: new Map(),
      held: null,
    };
    let ahead: Promise<ChangePage> | null = null;
    // A full listing over an empty cache (a first sync) inserts what no earlier page listed without
    // a conflict check. Asked while the first page is on its way; nothing else writes a calendar's
    // cache while its run is on (runs of a calendar never overlap), and a wrong answer would only
    // cost the page a second transaction (see `SyncPageApplier.apply`).
    const emptyAtStart =
      run.full && run.writeCache ? this.applier.cacheIsEmpty(run.calendar.id).catch(() => false) : Promise.resolve(false);
    for (;;) {
      // A page is applied whole or not at all, with its cursor: stopping here loses nothing.
      run.signal?.throwIfAborted();
      const page = await this.nextPage(run, progress, ahead);
      progress.pages += 1;
      const pageEvents = lastCopyById(page.events);
      progress.events += pageEvents.length;
      const fresh = (await emptyAtStart) ? unseen(pageEvents, progress.seen) : null;
      if (progress.full) for (const e of pageEvents) progress.seen.add(e.id);
      const last = !page.nextPageToken;
      // The next page is asked for now, while this one is checked and written: the provider's
      // paging and our database then overlap instead of taking turns (a 10,000-event first sync
      // spent a quarter of its time waiting for pages). Listing is read-only, so a look-ahead
      // whose page is never used (this page fails, the run is stopped or dies) changes nothing.
      ahead = last ? null : this.lookAhead(run, progress.cursor, page.nextPageToken);

      const listed = run.syncOn ? await this.confirmRemovals(run, pageEvents) : pageEvents;
      const beyond = last && this.beyondCursorDue(run, progress) ? await this.bookingEventsBeyondCursor(run) : null;
      const found =
        last && progress.full && run.syncOn
          ? [...listed, ...(await this.missingBookingEvents(run, progress.seen))]
          : beyond
            ? lastCopyById([...listed, ...beyond])
            : listed;
      const resolved = run.syncOn ? await this.resolveSeries(run, found) : found;
      const changed = run.syncOn ? deferDeletions(progress.deletions, resolved, last) : resolved;
      const moves = run.syncOn ? await this.locator.findMoves(run.synced, changed) : new Map<string, MovedEvent>();

      run.signal?.throwIfAborted();
      const recorded = await this.applier.apply(run, {
        listed,
        changed,
        moves,
        full: progress.full,
        fresh,
        last,
        cursor: page.nextCursor ?? progress.cursor,
        brake: run.syncOn ? this.brake(progress) : null,
      });
      progress.bookingChanges += recorded.events.length;
      if (recorded.held) progress.held = recorded.held;
      await this.publish(run, recorded, moves);
      if (last) break;
      progress.pageToken = page.nextPageToken;
    }
    return {
      kind: progress.full ? 'full' : 'incremental',
      pages: progress.pages,
      events: progress.events,
      bookingChanges: progress.bookingChanges,
      ...(progress.held ? { held: progress.held } : {}),
    };
  }

  /**
   * The page a look-ahead fetched, or the first page. A look-ahead that failed on a cursor the
   * provider forgot is asked again through `fetchPage`, which restarts the run as a full listing;
   * any other failure fails the run as a failed `fetchPage` would (the provider calls retried already).
   */
  private async nextPage(run: SyncRun, progress: ListingProgress, ahead: Promise<ChangePage> | null): Promise<ChangePage> {
    if (!ahead) return this.fetchPage(run, progress);
    try {
      return await ahead;
    } catch (error) {
      if (isProviderError(error, 'cursor_expired') && !progress.full) return this.fetchPage(run, progress);
      throw error;
    }
  }

  /** Starts fetching the page after `pageToken`; the caller awaits it through `nextPage`, or drops it. */
  private lookAhead(run: SyncRun, cursor: string | null, pageToken: string | null): Promise<ChangePage> {
    const page = run.provider.listChanges(run.auth, {
      calendarId: run.calendar.externalId,
      cursor,
      pageToken,
      window: run.window,
    });
    // Handled here too: a run that stops before awaiting it must not leave an unhandled rejection.
    page.catch(() => undefined);
    return page;
  }

  /** The next page of the listing. A cursor the provider forgot restarts the run as a full listing that reconciles the cache. */
  private async fetchPage(run: SyncRun, progress: ListingProgress): Promise<ChangePage> {
    for (;;) {
      try {
        return await run.provider.listChanges(run.auth, {
          calendarId: run.calendar.externalId,
          cursor: progress.cursor,
          pageToken: progress.pageToken,
          window: run.window,
        });
      } catch (error) {
        if (!isProviderError(error, 'cursor_expired') || progress.full) throw error;
        this.logger.log(logLine(`Calendar ${run.calendar.id}: cursor expired, running a full resync`, run.logFields));
        progress.full = true;
        progress.cursor = null;
        progress.pageToken = null;
        progress.seen.clear();
        progress.deletions.clear();
      }
    }
  }

  /**
   * A listing that cannot tell a deletion from an event leaving its view (Graph's `@removed`)
   * must not cancel a booking: each such removal of a booking's event is checked with a get. A
   * live event replaces the removal (it moved, perhaps out of the window); a missing one is a
   * confirmed deletion. Provider errors fail the run, which is retried: never guessed.
   */
  private async confirmRemovals(run: SyncRun, events: ExternalEvent[]): Promise<ExternalEvent[]> {
    if (!events.some((e) => e.status === 'cancelled' && e.removal !== 'deleted')) return events;
    const linked = new Set((await this.recorder.linkedDeletions(run.synced, events)).map((d) => d.eventId));
    const resolved: ExternalEvent[] = [];
    for (const event of events) {
      if (event.status !== 'cancelled' || event.removal === 'deleted' || !linked.has(event.id)) {
        resolved.push(event);
        continue;
      }
      // One read per event: an attempt abandoned at JOB_TIMEOUT_MS stops reading.
      run.signal?.throwIfAborted();
      const current = await run.provider.getEvent(run.auth, run.synced.externalCalendarId, event.id);
      resolved.push(current && current.status !== 'cancelled' ? current : { ...event, removal: 'deleted' });
    }
    return resolved;
  }

  /**
   * A booking's event the host made recurring is the series master (its id does not change); the
   * listing shows its instances instead (Google, Graph), each with the booking's iCalUID on Google.
   * The rule: the booking follows the series' start, which is its first occurrence. Making the
   * event recurring keeps the booking's time; moving the whole series moves the booking; editing
   * or deleting single occurrences leaves it alone; deleting the series cancels it. So instances
   * never stand for the booking: the master is read again and compared with the baseline instead,
   * once per series and page, never once per instance racing each other. Graph reports a deleted
   * series as `@removed` occurrences with nothing but their ids, so when a page has removals it
   * cannot attribute, the calendar's booking series are read again too. A provider error fails the
   * run, which is retried: never guessed.
   */
  private async resolveSeries(run: SyncRun, events: ExternalEvent[]): Promise<ExternalEvent[]> {
    const masters = new Set(await this.recorder.seriesToCheck(run.synced, events));
    if (masters.size === 0) return events;
    const rest = events.filter((e) => !masters.has(e.id) && !(e.recurringEventId && masters.has(e.recurringEventId)));
    for (const id of masters) {
      run.signal?.throwIfAborted();
      const master = await run.provider.getEvent(run.auth, run.synced.externalCalendarId, id);
      rest.push(
        master && master.status !== 'cancelled' ? { ...master, recurring: master.recurring ?? true } : cancelledPlaceholder(id),
      );
    }
    return rest;
  }

  /**
   * Booking events a full listing did not return: deleted meanwhile, or outside what it covered
   * (upcoming bookings beyond the window: a host with many far-off bookings has as many reads,
   * `MISSING_READS_IN_FLIGHT` at a time; an Outlook mailbox's own limit of four applies anyway).
   */
  private async missingBookingEvents(run: SyncRun, seen: Set<string>): Promise<ExternalEvent[]> {
    return this.bookingEventsAt(run, await this.recorder.referencesMissingFrom(run.synced, seen));
  }

  /**
   * Whether this incremental run also reads the booking events beyond its cursor's window: a
   * cursor opened for a window (Graph's delta) reports no change of an event outside it, so a host
   * moving or deleting a booking further ahead than `SYNC_WINDOW_DAYS` would otherwise be seen only
   * by the next full listing (the daily re-anchor). At most once per `RESYNC_INTERVAL_SECONDS` per
   * calendar and process, as the safety-net sweep: one read per such booking.
   */
  private beyondCursorDue(run: SyncRun, progress: ListingProgress): boolean {
    if (progress.full || !run.syncOn || run.provider.cursorScope !== 'window' || !run.calendar.syncCursorWindowEnd) return false;
    const readAt = this.beyondCursorReadAt.get(run.calendar.id);
    return readAt === undefined || Date.now() - readAt >= this.config.resyncIntervalSeconds * 1000;
  }

  /**
   * The booking events beyond the cursor's window, read again (`beyondCursorDue`), those that could
   * be read: a read that fails is left out of this run (never taken for a deletion), logged, and
   * tried again an interval later, so a far-off booking never holds up the calendar's own changes.
   * Stamped before reading: a run that fails or is abandoned meanwhile does not read them again at
   * its retry.
   */
  private async bookingEventsBeyondCursor(run: SyncRun): Promise<ExternalEvent[]> {
    this.beyondCursorReadAt.set(run.calendar.id, Date.now());
    const ids = await this.recorder.referencesFrom(run.synced, run.calendar.syncCursorWindowEnd as Date);
    const slots = pLimit(MISSING_READS_IN_FLIGHT);
    const reads = await Promise.allSettled(ids.map((id) => slots(() => this.bookingEventAt(run, id))));
    run.signal?.throwIfAborted();
    const failed = reads.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      const reason = failed[0].reason;
      const message = reason instanceof Error ? reason.message : String(reason);
      this.logger.warn(
        logLine(
          `Calendar ${run.calendar.id}: ${failed.length} of its ${ids.length} bookings beyond the sync window could not be read (${message}); read again in ${this.config.resyncIntervalSeconds} s`,
          run.logFields,
        ),
      );
    }
    return reads.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /**
   * The current version of each of these booking events (a missing one as a cancellation), four
   * reads at a time; the first failure fails them all and starts no further read.
   */
  private async bookingEventsAt(run: SyncRun, ids: string[]): Promise<ExternalEvent[]> {
    const slots = pLimit(MISSING_READS_IN_FLIGHT);
    try {
      return await Promise.all(ids.map((id) => slots(() => this.bookingEventAt(run, id))));
    } catch (error) {
      slots.clearQueue();
      throw error;
    }
  }

  private async bookingEventAt(run: SyncRun, id: string): Promise<ExternalEvent> {
    run.signal?.throwIfAborted();
    const event = await run.provider.getEvent(run.auth, run.synced.externalCalendarId, id);
    return event ?? cancelledPlaceholder(id);
  }

  /** More cancellations than `SYNC_MASS_CANCEL_THRESHOLD` in this run are held for a person. */
  private brake(progress: ListingProgress): DeletionBrake {
    const threshold = this.config.syncMassCancelThreshold;
    return {
      above: threshold,
      reason: (count) =>
        `${progress.full ? 'A full' : 'An incremental'} sync would cancel ${count} of the user's upcoming bookings at once, ` +
        `more than SYNC_MASS_CANCEL_THRESHOLD (${threshold}): held for a person to confirm or discard`,
    };
  }

  /**
   * After the page's commit: its booking changes go to the sagas, a hold is announced, and calsync
   * follows the calendars booking events moved to (connections adds them, for their bookings only).
   */
  private async publish(run: SyncRun, recorded: RecordedChanges, moves: Map<string, MovedEvent>): Promise<void> {
    for (const event of recorded.events) this.eventBus.publish(event);
    if (recorded.held) this.announceHold(run, recorded.held);
    for (const moved of moves.values()) {
      await this.connections.followCalendar(run.calendar.userId, moved.credentialId, moved.externalCalendarId);
    }
  }

  /**
   * A hold is for a person: a warning, `calsync_sync_holds_total`, and `CalendarSyncHeld` on the
   * event bus (the `calendar.sync_failed` webhook, once outgoing webhooks exist). If the process
   * dies before this, the hold is committed all the same and listed by the admin routes; only the
   * announcement is lost.
   */
  private announceHold(run: SyncRun, held: { holdId: number; count: number }): void {
    const threshold = this.config.syncMassCancelThreshold;
    const message =
      `Calendar ${run.calendar.id} (user ${run.calendar.userId}): a sync would cancel ${held.count} upcoming bookings at once, ` +
      `more than SYNC_MASS_CANCEL_THRESHOLD (${threshold}); held for a person as held changes ${held.holdId} ` +
      `(POST /api/v1/admin/held-changes/${held.holdId}/confirm or /discard)`;
    this.metrics.syncHolds.inc({ provider: run.provider.name });
    this.logger.warn(logLine(message, run.logFields));
    this.eventBus.publish(
      new CalendarSyncHeld(
        run.calendar.id,
        run.calendar.userId,
        run.provider.name,
        run.calendar.externalId,
        held.holdId,
        held.count,
        threshold,
        message,
      ),
    );
  }

  private window(): CacheWindow {
    const { start, end } = cacheWindow(this.config.syncWindowDays);
    return { start: new Date(start), end: new Date(end) };
  }

  private async recordError(selectedCalendarId: number, error: unknown, logFields: LogFields | undefined): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.warn(logLine(`Calendar ${selectedCalendarId}: sync failed: ${message}`, logFields));
    // A Retry-After longer than the in-process retries wait (Graph's throttling, at times minutes)
    // holds every later sync of the calendar until then; a rate limit without one (Google's 403
    // rateLimitExceeded: quotas per minute) holds it for `RATE_LIMITED_PAUSE_MS`.
    const retryAfterMs =
      error instanceof ProviderError
        ? (error.retryAfterMs ?? (error.kind === 'rate_limited' ? RATE_LIMITED_PAUSE_MS : null))
        : null;
    await this.state.recordError(selectedCalendarId, message, undefined, { retryAfterMs }).catch(() => undefined);
  }
}

/** The ids of `events` not in `seen`. */
function unseen(events: readonly ExternalEvent[], seen: ReadonlySet<string>): Set<string> {
  const ids = new Set<string>();
  for (const e of events) if (!seen.has(e.id)) ids.add(e.id);
  return ids;
}
