import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ProviderName } from '../../../config/app-config.js';

/**
 * A provider calendar calsync follows: read for busy times (`busySource`), written to as a
 * destination, or both. One row, and so one provider channel, per (credential, calendar).
 */
@Entity({ name: 'SelectedCalendar', synchronize: false })
export class SelectedCalendarEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'integer' })
  userId!: number;

  @Column({ type: 'integer' })
  credentialId!: number;

  @Column({ type: 'text' })
  integration!: ProviderName;

  @Column({ type: 'text' })
  externalId!: string;

  @Column({ type: 'boolean' })
  busySource!: boolean;

  @Column({ type: 'text', nullable: true })
  channelId!: string | null;

  @Column({ type: 'text', nullable: true })
  channelResourceId!: string | null;

  @Column({ type: 'text', nullable: true })
  channelResourceUri!: string | null;

  @Column({ type: 'text', nullable: true })
  channelKind!: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  channelExpiration!: Date | null;

  /** The channel the last renewal replaced; its pushes are recognised as superseded. */
  @Column({ type: 'text', nullable: true })
  channelPreviousId!: string | null;

  /** Fingerprint of the webhook secret the channel carries (null: opened before it was recorded, or unknown). */
  @Column({ type: 'text', nullable: true })
  channelSecretFingerprint!: string | null;

  @Column({ type: 'text', nullable: true })
  syncToken!: string | null;

  /** End of the window the cursor was made for (see CalendarProvider.cursorScope). */
  @Column({ type: 'timestamptz', nullable: true })
  syncCursorWindowEnd!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  syncedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  syncErrorAt!: Date | null;

  @Column({ type: 'integer' })
  syncErrorCount!: number;

  /** A provider asked not to be called before then (a long `Retry-After`): syncs wait for it. */
  @Column({ type: 'timestamptz', nullable: true })
  syncNotBefore!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  syncSubscribedAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  nextSubscribeAttemptAt!: Date | null;

  /** The cache holds every busy event up to here (the window end of the last full sync). */
  @Column({ type: 'timestamptz', nullable: true })
  cacheCoveredUntil!: Date | null;

  /** Moves whenever this calendar's cached events change (database triggers); busy answers are memoized under it. */
  @Column({ type: 'bigint', default: 0, insert: false, update: false })
  cacheVersion!: string;

  /** Whether the last sync wrote this calendar's events into the cache. */
  @Column({ type: 'boolean' })
  cacheEnabled!: boolean;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
