import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A busy event of a followed calendar, as of the calendar's last sync. Free and cancelled events are not kept. */
@Entity({ name: 'CalendarCacheEvent', synchronize: false })
export class CalendarCacheEventEntity {
  @PrimaryColumn({ type: 'integer' })
  selectedCalendarId!: number;

  @PrimaryColumn({ type: 'text' })
  externalId!: string;

  @Column({ type: 'text', nullable: true })
  iCalUID!: string | null;

  @Column({ type: 'timestamptz' })
  start!: Date;

  @Column({ type: 'timestamptz' })
  end!: Date;

  @Column({ type: 'boolean' })
  isAllDay!: boolean;

  @Column({ type: 'date', nullable: true })
  startDate!: string | null;

  @Column({ type: 'date', nullable: true })
  endDate!: string | null;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text', nullable: true })
  recurringEventId!: string | null;

  @Column({ type: 'text', nullable: true })
  etag!: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  externalUpdatedAt!: Date | null;

  @Column({ type: 'timestamptz' })
  cachedAt!: Date;
}
