import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { SelectedCalendarRecord } from '../connections/index.js';
import type { ChannelHandle } from '../providers/external-event.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { STOP_CHANNEL_JOB } from './subscriptions.jobs.js';

/** Where a push's channel id led: the calendar, and whether the channel is current or one a renewal replaced. */
export interface ChannelTarget {
  selectedCalendarId: number;
  resourceId: string | null;
  superseded: boolean;
}

/**
 * The one mapper between a provider's opaque `ChannelHandle` and the seed's `channel*` columns of
 * SelectedCalendar (plus `channelPreviousId`), which the subscriptions module owns. Nothing else
 * reads or writes those columns.
 */
@Injectable()
export class ChannelStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
  ) {}

  /** The calendar's current channel, or null. */
  static channelOf(row: SelectedCalendarRecord): ChannelHandle | null {
    if (!row.channelId) return null;
    return {
      id: row.channelId,
      resourceId: row.channelResourceId,
      resourceUri: row.channelResourceUri,
      kind: row.channelKind,
      expiration: row.channelExpiration ? new Date(row.channelExpiration) : new Date(0),
    };
  }

  /**
   * Stores `channel` as the calendar's current one, if the calendar still has the channel
   * `expectedCurrentId` the caller started from (compare-and-set: two channel operations racing
   * for one calendar, say a renewal and a life-cycle recreate, cannot both win). `replacedId` is
   * the channel it replaces (kept so that channel's late pushes are recognised), or null. False
   * when another operation got there first: the caller's new channel is surplus. Storing the very
   * channel already stored counts as stored: two operations may both have found the one a lost
   * answer left unrecorded, and the loser must not stop the winner's channel. The fingerprint of the
   * channel's secret is the handle's; the same channel stored again without one (extended in place,
   * or adopted without Graph showing its secret) keeps the stored one, since the provider kept the
   * secret as well. (The calendar's
   * `lastError`, sync's column, is cleared by the caller through `SyncStateStore`.)
   */
  async save(
    manager: EntityManager,
    selectedCalendarId: number,
    channel: ChannelHandle,
    expectedCurrentId: string | null,
    replacedId: string | null,
  ): Promise<boolean> {
    const result: [unknown[], number] = await manager.query(
      `UPDATE "SelectedCalendar" SET "channelId" = $2, "channelResourceId" = $3, "channelResourceUri" = $4,
              "channelKind" = $5, "channelExpiration" = $6,
              "channelPreviousId" = CASE WHEN $7::text IS NULL OR $7::text = $2 THEN "channelPreviousId" ELSE $7::text END,
              "channelSecretFingerprint" = CASE WHEN "channelId" = $2 THEN COALESCE($9::text, "channelSecretFingerprint") ELSE $9::text END,
              "syncSubscribedAt" = now(), "nextSubscribeAttemptAt" = NULL, "updatedAt" = now()
        WHERE "id" = $1 AND ("channelId" IS NOT DISTINCT FROM $8::text OR "channelId" = $2)`,
      [
        selectedCalendarId,
        channel.id,
        channel.resourceId,
        channel.resourceUri,
        channel.kind,
        channel.expiration,
        replacedId,
        expectedCurrentId,
        channel.secretFingerprint ?? null,
      ],
    );
    return (result[1] ?? 0) > 0;
  }

  /**
   * Of `ids`, the channels some calendar holds (as its channel, or the one its renewal replaced) or
   * a stop job is about to stop (its calendar row is gone): not free for a lost create's takeover.
   * Read only when a create's answer was lost.
   */
  async recordedAmong(ids: readonly string[]): Promise<ReadonlySet<string>> {
    if (ids.length === 0) return new Set();
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT c.id FROM unnest($1::text[]) AS c(id)
        WHERE EXISTS (SELECT 1 FROM "SelectedCalendar" s WHERE s."channelId" = c.id OR s."channelPreviousId" = c.id)`,
      [ids],
    );
    const stopping = await this.jobs.pendingPayloadValues(STOP_CHANNEL_JOB, ['channel', 'id'], ids);
    return new Set([...rows.map((r) => r.id), ...stopping]);
  }

  /** No channel attempt is due any more (nobody wants the calendar followed). */
  async forgetNextAttempt(manager: EntityManager, selectedCalendarId: number): Promise<void> {
    await manager.query(
      `UPDATE "SelectedCalendar" SET "nextSubscribeAttemptAt" = NULL, "updatedAt" = now()
        WHERE "id" = $1 AND "nextSubscribeAttemptAt" IS NOT NULL`,
      [selectedCalendarId],
    );
  }

  /**
   * A channel operation on the calendar failed: no new attempt before `delayMs` from now (the
   * failure itself is sync's error columns, recorded through `SyncStateStore.recordError`).
   */
  async deferNextAttempt(manager: EntityManager, selectedCalendarId: number, delayMs: number): Promise<void> {
    await manager.query(
      `UPDATE "SelectedCalendar" SET "nextSubscribeAttemptAt" = now() + ($2::int * interval '1 millisecond'), "updatedAt" = now()
        WHERE "id" = $1`,
      [selectedCalendarId, Math.round(delayMs)],
    );
  }

  /**
   * The channel no longer delivers (the provider removed it, or a reauthorization it asked for
   * failed): its expiration becomes now, unless another operation replaced it meanwhile.
   */
  async markLapsed(manager: EntityManager, selectedCalendarId: number, channelId: string): Promise<void> {
    await manager.query(
      `UPDATE "SelectedCalendar" SET "channelExpiration" = LEAST("channelExpiration", now()), "updatedAt" = now()
        WHERE "id" = $1 AND "channelId" = $2`,
      [selectedCalendarId, channelId],
    );
  }

  /**
   * Forgets the channel `expectedId` (the caller resets the cursor through `SyncStateStore` when
   * changes will no longer be followed). Compare-and-set, as `save`: a channel another operation
   * stored meanwhile is not forgotten unstopped; it stays recorded, and the next subscribe-calendars
   * stops it if the calendar is still not wanted. False when nothing was cleared.
   */
  async clear(manager: EntityManager, selectedCalendarId: number, expectedId: string | null): Promise<boolean> {
    const result: [unknown[], number] = await manager.query(
      `UPDATE "SelectedCalendar" SET "channelId" = NULL, "channelResourceId" = NULL, "channelResourceUri" = NULL,
              "channelKind" = NULL, "channelExpiration" = NULL, "channelSecretFingerprint" = NULL, "updatedAt" = now()
        WHERE "id" = $1 AND "channelId" IS NOT DISTINCT FROM $2::text`,
      [selectedCalendarId, expectedId],
    );
    return (result[1] ?? 0) > 0;
  }

  /** The calendar a channel id belongs to, as its current channel or as the one its last renewal replaced. */
  async find(channelId: string): Promise<ChannelTarget | null> {
    const rows: Array<{ id: number; channelResourceId: string | null; current: boolean }> = await this.dataSource.query(
      `SELECT "id", "channelResourceId", "channelId" = $1 AS current FROM "SelectedCalendar"
        WHERE "channelId" = $1 OR "channelPreviousId" = $1
        ORDER BY ("channelId" = $1) DESC LIMIT 1`,
      [channelId],
    );
    if (rows.length === 0) return null;
    return { selectedCalendarId: rows[0].id, resourceId: rows[0].channelResourceId, superseded: !rows[0].current };
  }
}
