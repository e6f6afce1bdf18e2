import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** `ignored`: a calendar change that was not applied (a later API change superseded it), with its changes. */
export type HistoryAction = 'created' | 'rescheduled' | 'cancelled' | 'updated' | 'ignored';
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
