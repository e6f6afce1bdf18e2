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

/**
 * Turns "calendar X changed" into a durable, debounced sync job. A push is answered only once its
 * job is committed. Pushes for a calendar that arrive while its enqueue is in flight share that
 * enqueue: its job starts after they arrived, so it sees their changes. That keeps bursts (renewal
 * overlap, Graph's several notifications per edit) to one database round trip.
 */
@Injectable()
export class NotificationIntake {
  private readonly channels = new Map<string, ChannelTarget>();
  private readonly inflight = new Map<number, Promise<void>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
  ) {}

  async findChannel(channelId: string): Promise<ChannelTarget | null> {
    const hit = this.channels.get(channelId);
    if (hit && Date.now() - hit.at < CHANNEL_CACHE_MS) return hit;
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
    const running = this.inflight.get(selectedCalendarId);
    if (running) return running;
    const enqueue = this.jobs
      .enqueue(SYNC_CALENDAR_JOB, { selectedCalendarId, reason }, syncJobOptions(selectedCalendarId))
      .finally(() => this.inflight.delete(selectedCalendarId));
    this.inflight.set(selectedCalendarId, enqueue);
    return enqueue;
  }
}
