import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `SelectedCalendar."channelSecretFingerprint"`: a one-way fingerprint of the webhook secret the
 * calendar's channel was opened with (`GOOGLE_WEBHOOK_TOKEN` / `MICROSOFT_WEBHOOK_TOKEN`), so that
 * after a rotation the channels still carrying the old secret are found and replaced. Nullable, no
 * default: a channel opened before this column counts as carrying the current secret, except while
 * a previous one is configured (`…_WEBHOOK_TOKEN_PREVIOUS`), when it is replaced once to be sure.
 */
export class ChannelSecretFingerprint1763800000022 implements MigrationInterface {
  name = 'ChannelSecretFingerprint1763800000022';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "SelectedCalendar" ADD COLUMN IF NOT EXISTS "channelSecretFingerprint" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "SelectedCalendar" DROP COLUMN IF EXISTS "channelSecretFingerprint"`);
  }
}
