import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * `ignored`: a calendar change that was not applied (a later API change superseded it, or a sync
 * preference switched its kind off), with its changes. `reverted`: a conflicting calendar
 * reschedule that was not applied and whose event was moved back (`conflictPolicy` revert, or a
 * flagged change rejected).
 */
export type HistoryAction = 'created' | 'rescheduled' | 'cancelled' | 'updated' | 'ignored' | 'reverted';
export type ChangeSource = 'api' | 'google_calendar' | 'office365_calendar';

@Entity({ name: 'BookingHistory', synchronize: false })
export class BookingHistoryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'integer' })
  bookingId!: number;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ type: 'text' })
  action!: HistoryAction;

  @Column({ type: 'text' })
  source!: ChangeSource;

  @Column({ type: 'jsonb' })
  changes!: Record<string, unknown>;
}
