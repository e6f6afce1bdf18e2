import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Held changes (`SYNC_MASS_CANCEL_THRESHOLD`), owned by bookings. A sync run that would cancel more
 * of a user's upcoming bookings at once than the threshold records them here instead of in the
 * outbox ("ExternalEventChange"): the bookings stay, and a person confirms (the cancellations are
 * then written to the outbox and applied, each row once) or discards (the events are written back).
 * - `SyncHold`: one per held run and calendar; `resolvedAt`/`resolution` once a person decided.
 *   `selectedCalendarId` is a plain id, as in the outbox: the hold outlives its calendar.
 * - `SyncHoldChange`: one per held booking; `outcome` once resolved, `changeId` the outbox row a
 *   confirmation wrote. Its open rows (`resolvedAt IS NULL`) keep later runs from recording the
 *   same deletion again (partial index on `bookingId`).
 */
export class SyncHolds1763800000011 implements MigrationInterface {
  name = 'SyncHolds1763800000011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "SyncHold" (
        "id" SERIAL PRIMARY KEY,
        "selectedCalendarId" INTEGER,
        "userId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE CASCADE,
        "provider" TEXT NOT NULL,
        "externalCalendarId" TEXT NOT NULL,
        "count" INTEGER NOT NULL CHECK ("count" > 0),
        "reason" TEXT NOT NULL,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        "resolvedAt" TIMESTAMPTZ,
        "resolution" TEXT CHECK ("resolution" IN ('confirmed', 'discarded')),
        CONSTRAINT "SyncHold_resolved_check" CHECK (("resolvedAt" IS NULL) = ("resolution" IS NULL))
      );
      CREATE INDEX "SyncHold_open_idx" ON "SyncHold" ("selectedCalendarId") WHERE "resolvedAt" IS NULL;
      CREATE INDEX "SyncHold_userId_idx" ON "SyncHold" ("userId");

      CREATE TABLE "SyncHoldChange" (
        "holdId" INTEGER NOT NULL REFERENCES "SyncHold"("id") ON DELETE CASCADE,
        "bookingId" INTEGER NOT NULL REFERENCES "Booking"("id") ON DELETE CASCADE,
        "kind" TEXT NOT NULL DEFAULT 'deleted' CHECK ("kind" IN ('deleted')),
        "externalEventId" TEXT NOT NULL,
        "detectedAt" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        "resolvedAt" TIMESTAMPTZ,
        "outcome" TEXT,
        "changeId" BIGINT REFERENCES "ExternalEventChange"("id") ON DELETE SET NULL,
        PRIMARY KEY ("holdId", "bookingId")
      );
      CREATE INDEX "SyncHoldChange_open_idx" ON "SyncHoldChange" ("bookingId") WHERE "resolvedAt" IS NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "SyncHoldChange", "SyncHold"`);
  }
}
