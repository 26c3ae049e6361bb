import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Tier } from '@custodian/catalog';
import type { VoteDecision } from './decision-rule';

/** A panel member's vote in one review round (owned by governance: only PanelService writes it). */
@Entity('bid_votes')
export class BidVote {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'bid_id', type: 'uuid' }) bidId!: string;
  @Column({ name: 'review_round', type: 'integer' }) reviewRound!: number;
  /** The bid version voted on (1: the bid itself; later: an amendment). */
  @Column({ name: 'bid_version', type: 'smallint', default: 1 }) bidVersion!: number;
  @Column({ name: 'voter_id', type: 'uuid' }) voterId!: string;
  @Column({ type: 'varchar', length: 8 }) decision!: VoteDecision;
  @Column({ type: 'varchar', length: 16, nullable: true }) tier!: Tier | null;
  @Column({ type: 'text', array: true, default: () => "'{}'" }) conditions!: string[];
  @Column({ name: 'conflict_of_interest', type: 'boolean' }) conflictOfInterest!: boolean;
  @Column({ type: 'text', nullable: true }) interests!: string | null;
  @Column({ type: 'boolean' }) recused!: boolean;
  /** The member approves linkage with the organisation's other bids (no no-linkage condition). */
  @Column({ name: 'approve_linkage', type: 'boolean', default: false }) approveLinkage!: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
