import { Injectable } from '@nestjs/common';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from '../sync/sync.jobs.js';
import { ChannelStore, type ChannelTarget as StoredChannel } from './channel-store.js';

type ChannelTarget = StoredChannel & { at: number };

const CHANNEL_CACHE_MS = 5000;
/** Past `CHANNEL_CACHE_MS`, and up to this age, an entry is answered while it is refreshed. */
const CHANNEL_STALE_MS = 15_000;
/** Pushes come in bursts (several per edit, two channels during renewal): one sync per window. */
export const PUSH_DEBOUNCE_MS = 25;
/**
 * A storm: more than `STORM_PUSHES` pushes within `STORM_WINDOW_MS` (per instance) that find a
 * sync of their calendar already planned, i.e. pushes come faster than syncs can follow. Nobody
 * editing a calendar by hand comes close (an edit sends a push or two, and the sync after it is
 * done before the next edit); a bulk import or a script does. During a storm a calendar's syncs
 * start at most once per `STORM_SYNC_SPACING_MS`: each pulls everything changed since the one
 * before, so running them back to back would add work and provider quota (Google counts list
 * calls per user per minute), not freshness worth having.
 */
export const STORM_WINDOW_MS = 1000;
export const STORM_PUSHES = 20;
export const STORM_SYNC_SPACING_MS = 1000;
/**
 * The other sign of a storm: an enqueue that finds a calendar's sync due for longer than this
 * without having started. The workers are then behind, asked for more syncs than they run
 * (measured: 50 calendars pushed at once on a loaded machine, each push waiting 30–100 ms for its
 * enqueue, so each calendar saw only about ten pushes a second, fewer than `STORM_PUSHES`, yet
 * each push planned a sync, and the 100–200 syncs a second starved the intake for 3–4 s). For a
 * window after that (on this instance), every calendar's syncs are spaced as in a storm; a calendar
 * without a sync planned within the spacing is not held back. A job is normally picked up a few
 * milliseconds after it is due (`JobQueue` nudges the workers then).
 */
export const QUEUE_BEHIND_MS = 100;
/** Room for timer and event-loop jitter when trusting that a delayed job has not started yet. */
const SAFETY_MS = 5;
/** Bounds on this instance's memory (intake state per calendar, cached channel lookups): past one, that map starts afresh. */
const MAX_TRACKED_CALENDARS = 50_000;
const MAX_CACHED_CHANNELS = 50_000;

/** What this instance knows about one calendar's pushes and the sync jobs it planned for them. */
interface CalendarIntake {
  /** Pushes arriving before this (performance.now() ms) are covered by a job that cannot have started. */
  coveredUntil: number;
  /** When the job the latest enqueue found or made may start, and under which of the two keys. */
  plannedStart: number;
  plannedNext: boolean;
  /** An enqueue that pushes arriving now can share. */
  inflight: Promise<void> | null;
  /** Storm detection: absorbed pushes in the current window, and in the one before it. */
  windowSince: number;
  windowCount: number;
  previousWindowCount: number;
}

/**
 * Turns "calendar X changed" into a durable, debounced sync job, answering the push only once a
 * job that will see the change is committed. That holds without another database round trip for:
 * - pushes arriving while an enqueue for the calendar is in flight (they share it: the job it
 *   commits starts after they arrived);
 * - pushes arriving before the debounced job may start: nothing (on any instance) can start a job
 *   before its `run_at`, and the job pulls every change made until it runs.
 * During a storm (many pushes finding a sync planned, or the calendar's sync found overdue), syncs
 * are spaced (`STORM_SYNC_SPACING_MS`), and the first push the covering job
 * no longer covers plans the next one under the other of two keys of the calendar's queue: the
 * covering job may still be waiting under its key (one key holds one waiting job), and the new
 * one starts a spacing later. So a storm costs about one enqueue per sync, not one per push.
 */
@Injectable()
export class NotificationIntake {
  private readonly channels = new Map<string, ChannelTarget>();
  private readonly lookups = new Map<string, Promise<ChannelTarget | null>>();
  private readonly calendars = new Map<number, CalendarIntake>();
  /** When an enqueue last found a sync overdue (`QUEUE_BEHIND_MS`): the workers are behind. */
  private workersBehindAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: ChannelStore,
    private readonly jobs: JobQueue,
  ) {}

  /**
   * The calendar a channel belongs to, from a short-lived cache. Pushes for one channel arrive
   * together: an entry a little past its age is still answered while one lookup refreshes it in
   * the background, and pushes finding no entry share a single lookup. (A stale entry can at most
   * let a just-replaced channel's push start a sync of its calendar, which changes nothing.)
   */
  findChannel(channelId: string): Promise<ChannelTarget | null> {
    const hit = this.channels.get(channelId);
    const age = hit ? Date.now() - hit.at : Number.POSITIVE_INFINITY;
    if (hit && age < CHANNEL_CACHE_MS) return Promise.resolve(hit);
    const lookup = this.lookups.get(channelId) ?? this.startLookup(channelId);
    if (hit && age < CHANNEL_STALE_MS) {
      lookup.catch(() => undefined);
      return Promise.resolve(hit);
    }
    return lookup;
  }

  private startLookup(channelId: string): Promise<ChannelTarget | null> {
    const lookup = this.lookUpChannel(channelId).finally(() => this.lookups.delete(channelId));
    this.lookups.set(channelId, lookup);
    return lookup;
  }

  private async lookUpChannel(channelId: string): Promise<ChannelTarget | null> {
    const found = await this.store.find(channelId);
    if (!found) {
      this.channels.delete(channelId);
      return null;
    }
    const target = { ...found, at: Date.now() };
    if (this.channels.size > MAX_CACHED_CHANNELS) this.channels.clear();
    this.channels.set(channelId, target);
    return target;
  }

  requestSync(selectedCalendarId: number, reason: string): Promise<void> {
    const arrived = performance.now();
    const state = this.stateOf(selectedCalendarId, arrived);
    const covered = arrived < state.coveredUntil;
    const storm =
      this.countPush(state, arrived, covered || state.inflight !== null) > STORM_PUSHES ||
      arrived - this.workersBehindAt < STORM_WINDOW_MS;
    if (covered) return Promise.resolve();
    if (state.inflight) return state.inflight;
    // A push waits only the debounce; during a storm a sync is planned no sooner than the spacing
    // after the previous planned one, under the other key (the previous one may still be waiting).
    // A calendar whose last sync was planned longer ago than the spacing keeps the debounce and its
    // first key, storm or not: a lone edit while the workers are behind is not held back, and it
    // shares a sync that still waits under that key rather than adding one beside it.
    const spacedMs = storm ? state.plannedStart + STORM_SYNC_SPACING_MS - arrived : 0;
    const delayMs = Math.max(PUSH_DEBOUNCE_MS, spacedMs);
    const next = spacedMs > PUSH_DEBOUNCE_MS ? !state.plannedNext : false;
    const enqueue = this.enqueue(selectedCalendarId, state, arrived, delayMs, next, reason).finally(() => {
      state.inflight = null;
    });
    state.inflight = enqueue;
    return enqueue;
  }

  private async enqueue(
    selectedCalendarId: number,
    state: CalendarIntake,
    arrived: number,
    delayMs: number,
    next: boolean,
    reason: string,
  ): Promise<void> {
    const { msUntilRun, overdueMs } = await this.jobs.enqueueJob(
      SYNC_CALENDAR_JOB,
      { selectedCalendarId, reason },
      { ...syncJobOptions(selectedCalendarId, { next }), delayMs },
    );
    // The job cannot start before `msUntilRun` after its insert, which came after `arrived`. (A
    // job already waiting under that key keeps its own run time: `msUntilRun` is the one in force.)
    if (msUntilRun > SAFETY_MS) state.coveredUntil = Math.max(state.coveredUntil, arrived + msUntilRun - SAFETY_MS);
    state.plannedStart = arrived + msUntilRun;
    state.plannedNext = next;
    if (overdueMs > QUEUE_BEHIND_MS) this.workersBehindAt = performance.now();
  }

  private stateOf(selectedCalendarId: number, now: number): CalendarIntake {
    let state = this.calendars.get(selectedCalendarId);
    if (!state) {
      if (this.calendars.size >= MAX_TRACKED_CALENDARS) this.calendars.clear();
      state = {
        coveredUntil: 0,
        plannedStart: Number.NEGATIVE_INFINITY,
        plannedNext: false,
        inflight: null,
        windowSince: now,
        windowCount: 0,
        previousWindowCount: 0,
      };
      this.calendars.set(selectedCalendarId, state);
    }
    return state;
  }

  /**
   * Pushes for the calendar over the last `STORM_WINDOW_MS` that found a sync already planned
   * (`absorbed`), this one included: the current fixed window's count plus the previous window's,
   * weighted by how much of it still overlaps (a sliding window in two numbers, so a storm does
   * not seem to end each time a window turns over).
   */
  private countPush(state: CalendarIntake, now: number, absorbed: boolean): number {
    if (now - state.windowSince >= STORM_WINDOW_MS) {
      const windows = Math.floor((now - state.windowSince) / STORM_WINDOW_MS);
      state.previousWindowCount = windows === 1 ? state.windowCount : 0;
      state.windowSince += windows * STORM_WINDOW_MS;
      state.windowCount = 0;
    }
    if (absorbed) state.windowCount += 1;
    return state.windowCount + state.previousWindowCount * (1 - (now - state.windowSince) / STORM_WINDOW_MS);
  }
}
