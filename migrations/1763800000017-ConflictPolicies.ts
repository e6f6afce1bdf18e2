import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Conflicts of calendar reschedules and the host's `conflictPolicy` (CONTRACT "Sync preferences and
 * conflicts").
 * - `Booking.conflict`: the booking overlaps another accepted booking of the host, or busy time in
 *   one of the host's calendars, since a calendar reschedule was accepted into it (policy `accept`,
 *   or a flagged change accepted through the API); cleared when the booking moves to a free time.
 * - `Booking.pendingChange`: `{startTime, endTime, source}` of a conflicting calendar reschedule
 *   held for the host app (policy `flag`), until it is accepted or rejected.
 * - `BookingHistory.action` may be `reverted`: a calendar reschedule that was not applied and whose
 *   event was moved back (policy `revert`, or a flagged change rejected).
 * - `Booking_userId_endTime_idx`: the conflict check's one query for a host's bookings overlapping a
 *   time (`endTime > start AND startTime < end`: the upcoming end of a user's bookings is short).
 */
export class ConflictPolicies1763800000017 implements MigrationInterface {
  name = 'ConflictPolicies1763800000017';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "Booking" ADD COLUMN "conflict" BOOLEAN NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE "Booking" ADD COLUMN "pendingChange" JSONB`);
    await q.query(`CREATE INDEX "Booking_userId_endTime_idx" ON "Booking" ("userId", "endTime")`);
    await q.query(`ALTER TABLE "BookingHistory" DROP CONSTRAINT "BookingHistory_action_check"`);
    await q.query(
      `ALTER TABLE "BookingHistory" ADD CONSTRAINT "BookingHistory_action_check"
         CHECK ("action" IN ('created', 'rescheduled', 'cancelled', 'updated', 'ignored', 'reverted'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "BookingHistory" WHERE "action" = 'reverted'`);
    await q.query(`ALTER TABLE "BookingHistory" DROP CONSTRAINT "BookingHistory_action_check"`);
    await q.query(
      `ALTER TABLE "BookingHistory" ADD CONSTRAINT "BookingHistory_action_check"
         CHECK ("action" IN ('created', 'rescheduled', 'cancelled', 'updated', 'ignored'))`,
    );
    await q.query(`DROP INDEX IF EXISTS "Booking_userId_endTime_idx"`);
    await q.query(`ALTER TABLE "Booking" DROP COLUMN "pendingChange"`);
    await q.query(`ALTER TABLE "Booking" DROP COLUMN "conflict"`);
  }
}
