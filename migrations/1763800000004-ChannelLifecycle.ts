import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provider-neutral channels.
 * - `channelPreviousId`: the channel a renewal replaced (Google renews by opening a new channel;
 *   both notify for a while). A push on it is recognised as superseded without parsing ids, which
 *   Graph's provider-assigned subscription ids would not allow.
 * - `syncCursorWindowEnd`: the end of the window the stored cursor was made for. A cursor bound
 *   to its window (Graph's calendarView deltaLink) is re-anchored as the window slides.
 */
export class ChannelLifecycle1763800000004 implements MigrationInterface {
  name = 'ChannelLifecycle1763800000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "SelectedCalendar" ADD COLUMN "channelPreviousId" TEXT, ADD COLUMN "syncCursorWindowEnd" TIMESTAMPTZ`,
    );
    await q.query(
      `CREATE INDEX "SelectedCalendar_channelPreviousId_idx" ON "SelectedCalendar" ("channelPreviousId") WHERE "channelPreviousId" IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "SelectedCalendar_channelPreviousId_idx"`);
    await q.query(`ALTER TABLE "SelectedCalendar" DROP COLUMN "channelPreviousId", DROP COLUMN "syncCursorWindowEnd"`);
  }
}
