import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { ProviderName } from '../../../config/app-config.js';
import type { SyncedCalendar } from '../external-change.recorder.js';
import type { HeldChangeOutcome, HeldChangesStatus, HeldChangesView } from './held-changes-view.js';

/** A hold as stored ("SyncHold"). */
export interface HoldRow {
  id: number;
  selectedCalendarId: number | null;
  userId: number;
  provider: ProviderName;
  externalCalendarId: string;
  count: number;
  reason: string;
  createdAt: Date;
  resolvedAt: Date | null;
  resolution: 'confirmed' | 'discarded' | null;
}

/** A held deletion not yet resolved, with where its booking's event lives now. */
export interface OpenHeldChange {
  bookingId: number;
  externalEventId: string;
  detectedAt: Date;
  bookingStatus: 'accepted' | 'cancelled';
  reference: {
    id: number;
    provider: ProviderName;
    credentialId: number | null;
    externalCalendarId: string;
    externalEventId: string;
    deletedAt: Date | null;
  } | null;
}

/** A deletion a sync run found and holds (the booking's own event in the run's calendar). */
export interface DeletionToHold {
  bookingId: number;
  externalEventId: string;
}

/** What a change's `outcome` column says once its hold is resolved (see `SyncHoldChange`). */
export const CHANGE_CONFIRMED = 'confirmed';
export const CHANGE_DISCARDED = 'discarded';
export const CHANGE_KEPT = 'kept: the event exists again in the calendar';

/**
 * "SyncHold" and "SyncHoldChange" (bookings owns both; migration 1763800000011): the deletions a
 * sync run held for a person instead of recording them in the outbox. Plain SQL on the caller's
 * manager where a transaction matters.
 */
@Injectable()
export class HeldChangesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** A hold for these deletions, in the sync page's transaction. */
  async create(
    manager: EntityManager,
    calendar: SyncedCalendar,
    deletions: DeletionToHold[],
    reason: string,
  ): Promise<{ holdId: number; count: number }> {
    const rows: Array<{ id: number }> = await manager.query(
      `INSERT INTO "SyncHold" ("selectedCalendarId", "userId", "provider", "externalCalendarId", "count", "reason")
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING "id"`,
      [calendar.selectedCalendarId, calendar.userId, calendar.provider, calendar.externalCalendarId, deletions.length, reason],
    );
    const holdId = rows[0].id;
    await manager.query(
      `INSERT INTO "SyncHoldChange" ("holdId", "bookingId", "externalEventId")
       SELECT $1, d."bookingId", d."externalEventId" FROM unnest($2::int[], $3::text[]) AS d("bookingId", "externalEventId")`,
      [holdId, deletions.map((d) => d.bookingId), deletions.map((d) => d.externalEventId)],
    );
    return { holdId, count: deletions.length };
  }

  async find(id: number, manager: EntityManager = this.dataSource.manager): Promise<HoldRow | null> {
    const rows: HoldRow[] = await manager.query(`SELECT * FROM "SyncHold" WHERE "id" = $1`, [id]);
    return rows[0] ?? null;
  }

  /** The hold, locked for this transaction: whoever resolves it first wins, the other sees it resolved. */
  async lock(manager: EntityManager, id: number): Promise<HoldRow | null> {
    const rows: HoldRow[] = await manager.query(`SELECT * FROM "SyncHold" WHERE "id" = $1 FOR UPDATE`, [id]);
    return rows[0] ?? null;
  }

  async resolve(manager: EntityManager, id: number, resolution: 'confirmed' | 'discarded'): Promise<void> {
    await manager.query(
      `UPDATE "SyncHold" SET "resolvedAt" = clock_timestamp(), "resolution" = $2 WHERE "id" = $1 AND "resolvedAt" IS NULL`,
      [id, resolution],
    );
  }

  async openChanges(manager: EntityManager, holdId: number): Promise<OpenHeldChange[]> {
    const rows: Array<Omit<OpenHeldChange, 'reference'> & { referenceId: number | null } & Record<string, unknown>> =
      await manager.query(
        `SELECT h."bookingId", h."externalEventId", h."detectedAt", b."status" AS "bookingStatus",
                r."id" AS "referenceId", r."provider", r."credentialId", r."externalCalendarId",
                r."externalEventId" AS "referenceEventId", r."deletedAt"
           FROM "SyncHoldChange" h JOIN "Booking" b ON b."id" = h."bookingId"
           LEFT JOIN "BookingReference" r ON r."bookingId" = h."bookingId"
          WHERE h."holdId" = $1 AND h."resolvedAt" IS NULL
          ORDER BY b."startTime", h."bookingId"`,
        [holdId],
      );
    return rows.map((row) => ({
      bookingId: row.bookingId,
      externalEventId: row.externalEventId,
      detectedAt: row.detectedAt,
      bookingStatus: row.bookingStatus,
      reference:
        row.referenceId === null
          ? null
          : {
              id: row.referenceId,
              provider: row.provider as ProviderName,
              credentialId: row.credentialId as number | null,
              externalCalendarId: row.externalCalendarId as string,
              externalEventId: row.referenceEventId as string,
              deletedAt: row.deletedAt as Date | null,
            },
    }));
  }

  async resolveChange(
    manager: EntityManager,
    holdId: number,
    bookingId: number,
    outcome: string,
    changeId: string | null = null,
  ): Promise<void> {
    await manager.query(
      `UPDATE "SyncHoldChange" SET "resolvedAt" = clock_timestamp(), "outcome" = $3, "changeId" = $4
        WHERE "holdId" = $1 AND "bookingId" = $2 AND "resolvedAt" IS NULL`,
      [holdId, bookingId, outcome, changeId],
    );
  }

  /**
   * A confirmed held deletion, written to the outbox as the sync would have written it (same
   * source, calendar and detection time, so the booking rules judge it as of when it was seen).
   * Its command then applies it once; the replayer publishes it again if the process dies first.
   */
  async recordConfirmedDeletion(manager: EntityManager, hold: HoldRow, change: OpenHeldChange): Promise<string> {
    const rows: Array<{ id: string }> = await manager.query(
      `INSERT INTO "ExternalEventChange" ("bookingId", "selectedCalendarId", "source", "kind", "payload", "detectedAt")
       VALUES ($1, $2, $3, 'deleted', '{}', $4) RETURNING "id"::text AS id`,
      [change.bookingId, hold.selectedCalendarId, hold.provider, change.detectedAt],
    );
    await manager.query(
      `UPDATE "BookingReference" SET "deletedAt" = now(), "updatedAt" = now() WHERE "bookingId" = $1 AND "deletedAt" IS NULL`,
      [change.bookingId],
    );
    return rows[0].id;
  }

  /** The booking's event is to be written again: its reference counts as deleted, so the write creates it. */
  async forgetEvent(manager: EntityManager, bookingId: number): Promise<void> {
    await manager.query(
      `UPDATE "BookingReference" SET "deletedAt" = now(), "updatedAt" = now() WHERE "bookingId" = $1 AND "deletedAt" IS NULL`,
      [bookingId],
    );
  }

  /** Holds, newest first, each with its changes and what became of them. */
  /** Newest first; `beforeId` and `limit` page through them (a keyset on id, descending). */
  async views(
    filter: { id?: number; status?: HeldChangesStatus; beforeId?: number; limit?: number } = {},
  ): Promise<HeldChangesView[]> {
    const holds: HoldRow[] = await this.dataSource.query(
      `SELECT * FROM "SyncHold"
        WHERE ($1::int IS NULL OR "id" = $1)
          AND ($2::text IS NULL
               OR ($2 = 'held' AND "resolvedAt" IS NULL)
               OR "resolution" = $2)
          AND ($3::int IS NULL OR "id" < $3)
        ORDER BY "id" DESC
        LIMIT $4`,
      [filter.id ?? null, filter.status ?? null, filter.beforeId ?? null, filter.limit ?? null],
    );
    if (holds.length === 0) return [];
    const changes: Array<{
      holdId: number;
      bookingId: number;
      title: string;
      startTime: Date;
      endTime: Date;
      bookingStatus: 'accepted' | 'cancelled';
      detectedAt: Date;
      resolvedAt: Date | null;
      outcome: string | null;
      changeId: string | null;
      changeOutcome: string | null;
    }> = await this.dataSource.query(
      `SELECT h."holdId", h."bookingId", b."title", b."startTime", b."endTime", b."status" AS "bookingStatus",
              h."detectedAt", h."resolvedAt", h."outcome", h."changeId"::text AS "changeId", c."outcome" AS "changeOutcome"
         FROM "SyncHoldChange" h JOIN "Booking" b ON b."id" = h."bookingId"
         LEFT JOIN "ExternalEventChange" c ON c."id" = h."changeId"
        WHERE h."holdId" = ANY($1::int[])
        ORDER BY b."startTime", h."bookingId"`,
      [holds.map((h) => h.id)],
    );
    return holds.map((hold) => ({
      id: hold.id,
      status: hold.resolution ?? 'held',
      selectedCalendarId: hold.selectedCalendarId,
      userId: hold.userId,
      provider: hold.provider,
      externalCalendarId: hold.externalCalendarId,
      count: hold.count,
      reason: hold.reason,
      createdAt: hold.createdAt.toISOString(),
      resolvedAt: hold.resolvedAt?.toISOString() ?? null,
      changes: changes
        .filter((c) => c.holdId === hold.id)
        .map((c) => ({
          bookingId: c.bookingId,
          action: 'cancel' as const,
          title: c.title,
          startTime: c.startTime.toISOString(),
          endTime: c.endTime.toISOString(),
          bookingStatus: c.bookingStatus,
          detectedAt: c.detectedAt.toISOString(),
          resolvedAt: c.resolvedAt?.toISOString() ?? null,
          outcome: outcomeOf(c.outcome, c.changeOutcome),
        })),
    }));
  }

  /** Calendars with held changes nobody resolved yet: how many bookings wait, in which holds. */
  async openByCalendar(): Promise<Array<{ selectedCalendarId: number; count: number; holdIds: number[] }>> {
    const rows: Array<{ selectedCalendarId: number; count: string; holdIds: number[] }> = await this.dataSource.query(
      `SELECT s."selectedCalendarId", count(*)::text AS "count", array_agg(DISTINCT s."id" ORDER BY s."id") AS "holdIds"
         FROM "SyncHold" s JOIN "SyncHoldChange" h ON h."holdId" = s."id"
        WHERE s."resolvedAt" IS NULL AND s."selectedCalendarId" IS NOT NULL
        GROUP BY s."selectedCalendarId"`,
    );
    return rows.map((r) => ({ selectedCalendarId: r.selectedCalendarId, count: Number(r.count), holdIds: r.holdIds }));
  }
}

/** A change's fate as the API shows it: null while its hold is open. */
function outcomeOf(outcome: string | null, changeOutcome: string | null): HeldChangeOutcome | null {
  if (outcome === null) return null;
  if (outcome !== CHANGE_CONFIRMED) return outcome as HeldChangeOutcome;
  if (changeOutcome === null) return 'pending';
  return changeOutcome === 'applied' ? 'cancelled' : (changeOutcome as HeldChangeOutcome);
}
