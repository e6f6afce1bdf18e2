import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ProviderName } from '../../../config/app-config.js';

@Entity({ name: 'Credential', synchronize: false })
export class CredentialEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'integer' })
  userId!: number;

  @Column({ type: 'text' })
  provider!: ProviderName;

  /** AES-256-GCM sealed JSON of the OAuth tokens; never leaves the service. */
  @Column({ type: 'text' })
  encryptedKey!: string;

  @Column({ type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ type: 'text' })
  status!: 'active' | 'invalid';

  @Column({ type: 'text', nullable: true })
  invalidReason!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
