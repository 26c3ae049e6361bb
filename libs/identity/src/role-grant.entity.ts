import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { GovernanceRole } from './role-grants';

export const GRANT_OUTCOMES = ['pending', 'approved', 'refused'] as const;
export type GrantOutcome = (typeof GRANT_OUTCOMES)[number];

/** A request to give a user a governance role, decided by a second administrator (issue #28). */
@Entity('role_grants')
export class RoleGrant {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'user_id', type: 'uuid' }) userId!: string;
  @Column({ type: 'varchar', length: 20 }) role!: GovernanceRole;
  @Column({ name: 'requested_by', type: 'uuid' }) requestedBy!: string;
  @CreateDateColumn({ name: 'requested_at', type: 'timestamptz' }) requestedAt!: Date;
  @Column({ name: 'decided_by', type: 'uuid', nullable: true }) decidedBy!: string | null;
  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true }) decidedAt!: Date | null;
  @Column({ type: 'varchar', length: 10, default: 'pending' }) outcome!: GrantOutcome;
}
