import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { SYNC_CALENDAR_JOB, syncJobOptions } from '../sync/sync.constants.js';

interface ChannelTarget {
  selectedCalendarId: number;
  resourceId: string | null;
  at: number;
}

const CHANNEL_CACHE_MS = 5000;
/** Pushes come in bursts (several per edit, two channels during renewal): one sync per window. */
export const PUSH_DEBOUNCE_MS = 25;
/**
 * A storm: more than `STORM_PUSHES` pushes for one calendar within `STORM_WINDOW_MS` (per instance).
 * No person editing a calendar comes close; a bulk import or a script does. During a storm a
 * calendar's syncs start at most once per `STORM_SYNC_SPACING_MS`: each pulls everything changed
 * since the one before, so running them back to back would add work and provider quota (Google
 * counts list calls per user per minute), not freshness worth having.
 */
export const STORM_WINDOW_MS = 1000;
export const STORM_PUSHES = 50;
export const STORM_SYNC_SPACING_MS = 1000;
/** Room for timer and event-loop jitter when trusting that a delayed job has not started yet. */
const SAFETY_MS = 5;

/**
 * Turns "calendar X changed" into a durable, debounced sync job, answering the push only once a
 * job that will see the change is committed. That holds without another database round trip for:
 * - pushes arriving while an enqueue for the calendar is in flight (they share it: the job it
 *   commits starts after they arrived);
 * - pushes arriving before the debounced job may start: nothing (on any instance) can start a job
 *   before its `run_at`, and the job pulls every change made until it runs.
 */
@Injectable()
export class NotificationIntake {
  private readonly channels = new Map<string, ChannelTarget>();
  private readonly lookups = new Map<string, Promise<ChannelTarget | null>>();
  private readonly inflight = new Map<number, Promise<void>>();
  private readonly pendingUntil = new Map<number, number>();
  private readonly plannedStart = new Map<number, number>();
  private readonly recent = new Map<number, { since: number; count: number; previous: number }>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
  ) {}

  /**
   * The calendar a channel belongs to, from a short-lived cache. Pushes for one channel arrive
   * together, so when its entry expires they share a single lookup instead of each running one.
   */
  findChannel(channelId: string): Promise<ChannelTarget | null> {
    const hit = this.channels.get(channelId);
    if (hit && Date.now() - hit.at < CHANNEL_CACHE_MS) return Promise.resolve(hit);
    const running = this.lookups.get(channelId);
    if (running) return running;
    const lookup = this.lookUpChannel(channelId).finally(() => this.lookups.delete(channelId));
    this.lookups.set(channelId, lookup);
    return lookup;
  }

  private async lookUpChannel(channelId: string): Promise<ChannelTarget | null> {
    const rows: Array<{ id: number; channelResourceId: string | null }> = await this.dataSource.query(
      `SELECT "id", "channelResourceId" FROM "SelectedCalendar" WHERE "channelId" = $1`,
      [channelId],
    );
    if (rows.length === 0) {
      this.channels.delete(channelId);
      return null;
    }
    const target = { selectedCalendarId: rows[0].id, resourceId: rows[0].channelResourceId, at: Date.now() };
    if (this.channels.size > 50_000) this.channels.clear();
    this.channels.set(channelId, target);
    return target;
  }

  /** Whether calsync made this channel for a calendar that has a newer one now (renewal overlap). */
  async isSuperseded(channelId: string): Promise<boolean> {
    const match = /^calsync-(\d+)-/.exec(channelId);
    if (!match) return false;
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM "SelectedCalendar" WHERE "id" = $1`, [Number(match[1])]);
    return rows.length > 0;
  }

  requestSync(selectedCalendarId: number, reason: string): Promise<void> {
    const arrived = performance.now();
    const storm = this.countPush(selectedCalendarId, arrived) > STORM_PUSHES;
    const pending = this.pendingUntil.get(selectedCalendarId);
    if (pending !== undefined && arrived < pending) return Promise.resolve();
    const running = this.inflight.get(selectedCalendarId);
    if (running) return running;
    // A push waits only the debounce; during a storm a sync is planned no sooner than the spacing
    // after the previous planned one.
    const previous = this.plannedStart.get(selectedCalendarId);
    const delayMs = Math.max(PUSH_DEBOUNCE_MS, storm && previous !== undefined ? previous + STORM_SYNC_SPACING_MS - arrived : 0);
    this.plannedStart.set(selectedCalendarId, arrived + delayMs);
    if (this.plannedStart.size > 50_000) this.plannedStart.clear();
    const enqueue = this.jobs
      .enqueue(SYNC_CALENDAR_JOB, { selectedCalendarId, reason }, { ...syncJobOptions(selectedCalendarId), delayMs })
      .then(({ msUntilRun }) => {
        // The job cannot start before `msUntilRun` after its insert, which came after `arrived`.
        if (msUntilRun > SAFETY_MS) this.pendingUntil.set(selectedCalendarId, arrived + msUntilRun - SAFETY_MS);
        if (this.pendingUntil.size > 50_000) this.pendingUntil.clear();
      })
      .finally(() => this.inflight.delete(selectedCalendarId));
    this.inflight.set(selectedCalendarId, enqueue);
    return enqueue;
  }

  /**
   * Pushes for the calendar over the last `STORM_WINDOW_MS`, this one included: the current fixed
   * window's count plus the previous window's, weighted by how much of it still overlaps (a
   * sliding window in two numbers, so a storm does not seem to end each time a window turns over).
   */
  private countPush(selectedCalendarId: number, now: number): number {
    let window = this.recent.get(selectedCalendarId);
    if (!window) {
      if (this.recent.size > 50_000) this.recent.clear();
      window = { since: now, count: 0, previous: 0 };
      this.recent.set(selectedCalendarId, window);
    } else if (now - window.since >= STORM_WINDOW_MS) {
      const windows = Math.floor((now - window.since) / STORM_WINDOW_MS);
      window.previous = windows === 1 ? window.count : 0;
      window.since += windows * STORM_WINDOW_MS;
      window.count = 0;
    }
    window.count += 1;
    return window.count + window.previous * (1 - (now - window.since) / STORM_WINDOW_MS);
  }
}
