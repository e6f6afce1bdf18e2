import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'TeamFeatures', synchronize: false })
export class TeamFeatureEntity {
  @PrimaryColumn({ type: 'integer' })
  teamId!: number;

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
