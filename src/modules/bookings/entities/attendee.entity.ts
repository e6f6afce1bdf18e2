import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'Attendee', synchronize: false })
export class AttendeeEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'integer' })
  bookingId!: number;

  @Column({ type: 'text' })
  email!: string;

  @Column({ type: 'text', nullable: true })
  name!: string | null;
}
