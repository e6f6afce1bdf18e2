import type { ProviderName } from '../../../config/app-config.js';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type BookingStatus = 'accepted' | 'cancelled';

/** A conflicting calendar reschedule held for the host app (policy `flag`). */
export interface PendingChange {
  startTime: string;
  endTime: string;
  source: ProviderName;
}

@Entity({ name: 'Booking', synchronize: false })
export class BookingEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'uuid' })
  uid!: string;

  @Column({ type: 'integer' })
  userId!: number;

  @Column({ type: 'text' })
  title!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'text', nullable: true })
  location!: string | null;

  @Column({ type: 'timestamptz' })
  startTime!: Date;

  @Column({ type: 'timestamptz' })
  endTime!: Date;

  @Column({ type: 'text' })
  status!: BookingStatus;

  @Column({ type: 'text', nullable: true })
  cancellationReason!: string | null;

  /** Overlaps another accepted booking or busy time since a conflicting calendar reschedule was accepted. */
  @Column({ type: 'boolean', default: false })
  conflict!: boolean;

  @Column({ type: 'jsonb', nullable: true })
  pendingChange!: PendingChange | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
