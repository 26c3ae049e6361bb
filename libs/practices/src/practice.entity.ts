import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Rollout } from './rollout';

@Entity('practices')
export class Practice {
  @PrimaryColumn({ name: 'ods_code', type: 'char', length: 6 }) odsCode!: string;
  @Column({ type: 'varchar', length: 200 }) name!: string;
  @Column({ type: 'varchar', length: 20, default: 'none' }) rollout!: Rollout;
  @Column({ name: 'awareness_started_on', type: 'date', nullable: true }) awarenessStartedOn!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
