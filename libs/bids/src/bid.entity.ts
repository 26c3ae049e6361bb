import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { Tier } from '@custodian/catalog';
import type { BidState } from './bid-state';
import type { LegalBasis } from './bid-rules';

export interface DatasetRequest {
  dataset: string;
  fields: string[];
}
export interface Cohort {
  practices?: string[];
  postcodeAreas?: string[];
  conditionCodes?: string[];
  eventsFrom?: string;
  eventsTo?: string;
  ageMin?: number;
  ageMax?: number;
}
export interface Aggregation {
  dimensions: string[];
}

@Entity('bids')
export class Bid {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'organisation_id', type: 'uuid' }) organisationId!: string;
  @Column({ name: 'created_by', type: 'uuid' }) createdBy!: string;
  @Column({ type: 'varchar', length: 12, default: 'draft' }) state!: BidState;
  @Column({ type: 'varchar', length: 200 }) title!: string;
  @Column({ type: 'text' }) purpose!: string;
  @Column({ name: 'public_benefit', type: 'text' }) publicBenefit!: string;
  @Column({ name: 'legal_basis', type: 'varchar', length: 24 }) legalBasis!: LegalBasis;
  @Column({ name: 'legal_basis_reference', type: 'varchar', length: 200, nullable: true })
  legalBasisReference!: string | null;
  @Column({ name: 'requested_tier', type: 'varchar', length: 16 }) requestedTier!: Tier;
  @Column({ name: 'granted_tier', type: 'varchar', length: 16, nullable: true }) grantedTier!: Tier | null;
  @Column({ type: 'jsonb' }) datasets!: DatasetRequest[];
  @Column({ type: 'jsonb', default: {} }) cohort!: Cohort;
  @Column({ type: 'jsonb', nullable: true }) aggregation!: Aggregation | null;
  @Column({ name: 'duration_months', type: 'smallint' }) durationMonths!: number;
  @Column({ type: 'uuid', array: true }) recipients!: string[];
  @Column({ type: 'text', array: true, default: () => "'{}'" }) conditions!: string[];
  @Column({ name: 'review_round', type: 'integer', default: 0 }) reviewRound!: number;
  @Column({ name: 'cohort_size', type: 'integer', nullable: true }) cohortSize!: number | null;
  /** The version in force (1 until an amendment's agreement is accepted): its content is this row's. */
  @Column({ type: 'smallint', default: 1 }) version!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column({ name: 'submitted_at', type: 'timestamptz', nullable: true }) submittedAt!: Date | null;
  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true }) decidedAt!: Date | null;
}

export const VERSION_STATES = [
  'draft',
  'submitted',
  'returned',
  'in_review',
  'approved',
  'rejected',
  'withdrawn',
  'in_force',
  'superseded',
] as const;
export type VersionState = (typeof VERSION_STATES)[number];
/** An amendment still being prepared, reviewed or accepted: at most one per bid. */
export const OPEN_VERSION_STATES: readonly VersionState[] = [
  'draft',
  'submitted',
  'returned',
  'in_review',
  'approved',
];
export type AmendmentScope = 'narrowing' | 'widening';

/**
 * A version of a bid's changeable content (#25): the version in force as a snapshot, or an
 * amendment with its reason, scope and review. Written only by BidAmendmentsService.
 */
@Entity('bid_versions')
export class BidVersion {
  @PrimaryColumn({ name: 'bid_id', type: 'uuid' }) bidId!: string;
  @PrimaryColumn({ type: 'smallint' }) version!: number;
  /** The version in force when the amendment was opened (null for version 1). */
  @Column({ name: 'base_version', type: 'smallint', nullable: true }) baseVersion!: number | null;
  @Column({ type: 'varchar', length: 12 }) state!: VersionState;
  @Column({ type: 'varchar', length: 10, nullable: true }) scope!: AmendmentScope | null;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ type: 'jsonb' }) datasets!: DatasetRequest[];
  @Column({ type: 'jsonb', default: {} }) cohort!: Cohort;
  @Column({ type: 'jsonb', nullable: true }) aggregation!: Aggregation | null;
  @Column({ name: 'duration_months', type: 'smallint' }) durationMonths!: number;
  @Column({ type: 'uuid', array: true }) recipients!: string[];
  /** Conditions the approval of this version adds to the agreement. */
  @Column({ type: 'text', array: true, default: () => "'{}'" }) conditions!: string[];
  /** The bid's review round its panel review is counted in (votes are keyed by it). */
  @Column({ name: 'review_round', type: 'integer', nullable: true }) reviewRound!: number | null;
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column({ name: 'submitted_at', type: 'timestamptz', nullable: true }) submittedAt!: Date | null;
  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true }) decidedAt!: Date | null;
}

@Entity('bid_events')
export class BidEvent {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' }) id!: string;
  @Column({ name: 'bid_id', type: 'uuid' }) bidId!: string;
  @Column({ type: 'timestamptz', default: () => 'clock_timestamp()' }) at!: Date;
  @Column({ name: 'actor_id', type: 'uuid', nullable: true }) actorId!: string | null;
  @Column({ name: 'actor_roles', type: 'text', array: true, default: () => "'{}'" }) actorRoles!: string[];
  @Column({ type: 'varchar', length: 24 }) action!: string;
  @Column({ name: 'from_state', type: 'varchar', length: 12, nullable: true }) fromState!: BidState | null;
  @Column({ name: 'to_state', type: 'varchar', length: 12, nullable: true }) toState!: BidState | null;
  @Column({ type: 'text', nullable: true }) remarks!: string | null;
  @Column({ name: 'internal_notes', type: 'text', nullable: true }) internalNotes!: string | null;
  /** Internal events (individual votes) are never shown to the applicant. */
  @Column({ type: 'boolean', default: false }) internal!: boolean;
  @Column({ type: 'jsonb', default: {} }) details!: Record<string, unknown>;
}

export const AGREEMENT_STATUSES = [
  'offered',
  'active',
  'expired',
  'revoked',
  'closed',
  'superseded',
] as const;
export type AgreementStatus = (typeof AGREEMENT_STATUSES)[number];

@Entity('agreements')
export class Agreement {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'bid_id', type: 'uuid' }) bidId!: string;
  @Column({ type: 'integer' }) number!: number;
  @Column({ type: 'smallint' }) year!: number;
  @Column({ type: 'smallint', default: 1 }) version!: number;
  /** The bid version this agreement covers. */
  @Column({ name: 'bid_version', type: 'smallint', default: 1 }) bidVersion!: number;
  @Column({ type: 'varchar', length: 40 }) reference!: string;
  @Column({ type: 'varchar', length: 10, default: 'offered' }) status!: AgreementStatus;
  @Column({ type: 'varchar', length: 16 }) tier!: Tier;
  @Column({ name: 'duration_months', type: 'smallint' }) durationMonths!: number;
  @Column({ type: 'text', array: true, default: () => "'{}'" }) conditions!: string[];
  /** Dates as YYYY-MM-DD; set when the applicant accepts. */
  @Column({ name: 'start_date', type: 'date', nullable: true }) startDate!: string | null;
  @Column({ name: 'end_date', type: 'date', nullable: true }) endDate!: string | null;
  /** The earliest version whose releases this one keeps (a term-only amendment); null: its own. */
  @Column({ name: 'releases_from', type: 'integer', nullable: true }) releasesFrom!: number | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'accepted_at', type: 'timestamptz', nullable: true }) acceptedAt!: Date | null;
  @Column({ name: 'accepted_by', type: 'uuid', nullable: true }) acceptedBy!: string | null;
  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true }) endedAt!: Date | null;
  @Column({ name: 'ended_by', type: 'uuid', nullable: true }) endedBy!: string | null;
  @Column({ name: 'end_reason', type: 'text', nullable: true }) endReason!: string | null;
  /** When the release module was told to destroy the files (outbox: the sweep re-sends until set). */
  @Column({ name: 'destruction_announced_at', type: 'timestamptz', nullable: true })
  destructionAnnouncedAt!: Date | null;
}

/** `DSA-<year>-<number, zero-padded to 4>-v<version>`. */
export const agreementReference = (year: number, number: number, version: number) =>
  `DSA-${year}-${String(number).padStart(4, '0')}-v${version}`;
