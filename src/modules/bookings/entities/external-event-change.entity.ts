import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type ExternalChangeKind = 'rescheduled' | 'deleted' | 'details' | 'attendees';

/**
 * Outbox row: a change seen in a provider calendar, written in the same transaction that
 * advances the sync cursor, so it is applied to the booking even if the process dies right after.
 */
@Entity({ name: 'ExternalEventChange', synchronize: false })
export class ExternalEventChangeEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'integer' })
  bookingId!: number;

  @Column({ type: 'integer', nullable: true })
  selectedCalendarId!: number | null;

  @Column({ type: 'text' })
  source!: string;

  @Column({ type: 'text' })
  kind!: ExternalChangeKind;

  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Column({ type: 'timestamptz' })
  detectedAt!: Date;

  /** The event's last-modified time at the provider when the change was read (null: unknown). */
  @Column({ type: 'timestamptz', nullable: true })
  occurredAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  appliedAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  outcome!: string | null;
}
