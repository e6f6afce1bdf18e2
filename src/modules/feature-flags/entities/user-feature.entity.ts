import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'UserFeatures', synchronize: false })
export class UserFeatureEntity {
  @PrimaryColumn({ type: 'integer' })
  userId!: number;

  @PrimaryColumn({ type: 'text' })
  featureId!: string;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Column({ type: 'timestamptz' })
  assignedAt!: Date;

  @Column({ type: 'text' })
  assignedBy!: string;

  @Column({ type: 'timestamptz' })
  updatedAt!: Date;
}
