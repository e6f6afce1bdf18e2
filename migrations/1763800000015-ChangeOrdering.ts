import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ordering calendar changes by when the host made them, not when calsync noticed.
 * - `ExternalEventChange.occurredAt`: the provider's last-modified time of the event the change was
 *   read from (null when the provider gives none, e.g. a deletion). A change is superseded by an
 *   API change made after it, however late its push arrived.
 * - `BookingHistory.action` may be `ignored`: a calendar change that was not applied, with its
 *   changes (superseded by a later API change, or replayed after a newer one), so both sides of a
 *   conflict are in the history.
 */
export class ChangeOrdering1763800000015 implements MigrationInterface {
  name = 'ChangeOrdering1763800000015';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "ExternalEventChange" ADD COLUMN "occurredAt" TIMESTAMPTZ`);
    await q.query(`ALTER TABLE "BookingHistory" DROP CONSTRAINT "BookingHistory_action_check"`);
    await q.query(
      `ALTER TABLE "BookingHistory" ADD CONSTRAINT "BookingHistory_action_check"
         CHECK ("action" IN ('created', 'rescheduled', 'cancelled', 'updated', 'ignored'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "BookingHistory" WHERE "action" = 'ignored'`);
    await q.query(`ALTER TABLE "BookingHistory" DROP CONSTRAINT "BookingHistory_action_check"`);
    await q.query(
      `ALTER TABLE "BookingHistory" ADD CONSTRAINT "BookingHistory_action_check"
         CHECK ("action" IN ('created', 'rescheduled', 'cancelled', 'updated'))`,
    );
    await q.query(`ALTER TABLE "ExternalEventChange" DROP COLUMN "occurredAt"`);
  }
}
