import { CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'Membership', synchronize: false })
export class MembershipEntity {
  @PrimaryColumn({ type: 'integer' })
  teamId!: number;

  @PrimaryColumn({ type: 'integer' })
  userId!: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
