import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const ORGANISATION_KINDS = ['academic', 'nhs', 'commercial', 'charity', 'public_body'] as const;
export type OrganisationKind = (typeof ORGANISATION_KINDS)[number];

@Entity('organisations')
export class Organisation {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 200 }) name!: string;
  @Column({ type: 'varchar', length: 20 }) kind!: OrganisationKind;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
