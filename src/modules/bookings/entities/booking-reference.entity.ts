import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ProviderName } from '../../../config/app-config.js';
import type { EventBaseline } from '../domain/event-baseline.js';

/** Where a booking lives in the host's calendar, and the event as calsync last wrote or accepted it. */
@Entity({ name: 'BookingReference', synchronize: false })
export class BookingReferenceEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'integer' })
  bookingId!: number;

  @Column({ type: 'text' })
  provider!: ProviderName;

  @Column({ type: 'integer', nullable: true })
  credentialId!: number | null;

  @Column({ type: 'text' })
  externalCalendarId!: string;

  @Column({ type: 'text' })
  externalEventId!: string;

  @Column({ type: 'text', nullable: true })
  iCalUID!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  baseline!: EventBaseline | null;

  @Column({ type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
