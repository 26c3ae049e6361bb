import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '@custodian/core';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 254 }) email!: string;
  @Column({ name: 'password_hash', type: 'varchar', length: 200, select: false }) passwordHash!: string;
  @Column({ name: 'display_name', type: 'varchar', length: 200 }) displayName!: string;
  @Column({ type: 'text', array: true }) roles!: Role[];
  @Column({ name: 'organisation_id', type: 'uuid', nullable: true }) organisationId!: string | null;
  @Column({ name: 'practice_ods', type: 'char', length: 6, nullable: true }) practiceOds!: string | null;
  @Column({ type: 'boolean', default: false }) disabled!: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
