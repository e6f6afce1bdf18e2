import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type HistoryAction = 'created' | 'rescheduled' | 'cancelled' | 'updated';
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
