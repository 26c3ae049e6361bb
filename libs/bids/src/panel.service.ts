import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  APP_CONFIG,
  ConflictError,
  ForbiddenError,
  ValidationError,
  type AppConfig,
  type Principal,
  type RequestMeta,
} from '@custodian/core';
import type { Tier } from '@custodian/catalog';
import { AgreementsService } from './agreements.service';
import { decide, isAbove, type CountedVote } from './bid-rules';
import { BidWorkflow } from './bid-workflow';
import { BidVote } from './bid.entity';
import { BidsService } from './bids.service';
import type { VoteDto, VoteResultDto } from './dto';
import { approvalConditions } from './linkage-risk';

/**
 * The governance panel: votes with a declaration of interests, recusal, quorum and the decision.
 * Every vote locks the bid row first, so concurrent votes are serialised and exactly one of them
 * reaches quorum and decides.
 */
@Injectable()
export class PanelService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly bids: BidsService,
    private readonly workflow: BidWorkflow,
    private readonly agreements: AgreementsService,
    private readonly audit: AuditService,
  ) {}

  async vote(user: Principal, bidId: string, dto: VoteDto, meta?: RequestMeta): Promise<VoteResultDto> {
    // SPEC §1: the administrator never votes, whatever other roles they hold.
    if (user.roles.includes('admin') || !user.roles.includes('panel_member'))
      throw new ForbiddenError('Only panel members who are not administrators vote', 'SEGREGATION_OF_DUTIES');
    try {
      return await this.db.transaction(async (tx) => {
        const bid = await this.bids.lockForReviewer(tx, bidId);
        if (bid.state !== 'in_review')
          throw new ConflictError(
            'ILLEGAL_TRANSITION',
            `Votes are taken only on bids in review (this one is ${bid.state})`,
            {
              state: bid.state,
            },
          );
        if (user.organisationId && user.organisationId === bid.organisationId)
          throw new ForbiddenError('You are recused: your organisation is the applicant', 'RECUSED');
        const [screener] = await tx.query(
          `SELECT 1 FROM bid_events WHERE bid_id = $1 AND action = 'screen_accept' AND actor_id = $2
             AND id = (SELECT max(id) FROM bid_events WHERE bid_id = $1 AND action = 'screen_accept')`,
          [bid.id, user.id],
        );
        if (screener)
          throw new ForbiddenError(
            'You screened this bid into review; another member must vote',
            'SEGREGATION_OF_DUTIES',
          );
        const already = await tx.existsBy(BidVote, {
          bidId: bid.id,
          reviewRound: bid.reviewRound,
          voterId: user.id,
        });
        if (already) throw new ConflictError('ALREADY_VOTED', 'You have already voted on this bid');
        const tier: Tier = dto.tier ?? bid.requestedTier;
        if (isAbove(tier, bid.requestedTier))
          throw new ValidationError(
            `A vote cannot grant a tier above the request (${bid.requestedTier})`,
            'TIER_ABOVE_REQUEST',
          );
        if (dto.decision === 'approve' && tier === 'aggregate' && bid.requestedTier !== 'aggregate')
          throw new ValidationError(
            'Approving at the aggregate tier needs aggregation dimensions the bid does not state; vote return instead',
            'AGGREGATION_REQUIRED',
          );
        const recused = dto.conflictOfInterest;
        const vote = await tx.save(
          tx.create(BidVote, {
            bidId: bid.id,
            reviewRound: bid.reviewRound,
            voterId: user.id,
            decision: dto.decision,
            tier: dto.decision === 'approve' ? tier : null,
            conditions: dto.decision === 'approve' ? (dto.conditions ?? []) : [],
            conflictOfInterest: dto.conflictOfInterest,
            approveLinkage: dto.decision === 'approve' && dto.approveLinkage === true,
            interests: dto.interests ?? null,
            recused,
          }),
        );
        await this.workflow.event(tx, bid.id, user, {
          action: recused ? 'vote_recused' : 'vote',
          internal: true,
          details: {
            voteId: vote.id,
            round: bid.reviewRound,
            decision: vote.decision,
            tier: vote.tier,
            conditions: vote.conditions,
            approveLinkage: vote.approveLinkage,
            conflictOfInterest: vote.conflictOfInterest,
            recused,
          },
        });
        await this.audit.record(
          {
            action: 'bid.vote',
            actor: user,
            bidId: bid.id,
            subjectType: 'bid_vote',
            subjectId: vote.id,
            meta,
            details: { decision: vote.decision, tier: vote.tier, recused, round: bid.reviewRound },
          },
          tx,
        );
        const counted: BidVote[] = recused
          ? []
          : await tx.find(BidVote, {
              where: { bidId: bid.id, reviewRound: bid.reviewRound, recused: false },
              order: { createdAt: 'ASC', id: 'ASC' },
            });
        const quorum = this.config.panelQuorum;
        const outcome = decide(
          counted.map((v): CountedVote => ({
            decision: v.decision,
            tier: v.tier ?? bid.requestedTier,
            conditions: v.conditions,
          })),
          quorum,
          bid.requestedTier,
        );
        if (outcome.outcome === 'approved') {
          // #27: a pseudonymised grant carries the no-linkage condition unless every approving
          // vote approved linkage.
          const approving = counted.filter((v) => v.decision === 'approve');
          outcome.conditions = approvalConditions(
            outcome.conditions,
            outcome.grantedTier,
            approving.length > 0 && approving.every((v) => v.approveLinkage),
          );
          await this.workflow.transition(tx, bid, 'decide_approve', user, {
            meta,
            remarks: 'Approved by the panel',
            details: {
              outcome: 'approved',
              grantedTier: outcome.grantedTier,
              conditions: outcome.conditions,
            },
            set: { grantedTier: outcome.grantedTier, conditions: outcome.conditions, decidedAt: new Date() },
          });
          await this.agreements.offer(tx, bid);
        } else if (outcome.outcome === 'rejected') {
          await this.workflow.transition(tx, bid, 'decide_reject', user, {
            meta,
            remarks: 'Rejected by the panel',
            details: { outcome: 'rejected' },
            set: { decidedAt: new Date() },
          });
        } else if (outcome.outcome === 'returned') {
          await this.workflow.transition(tx, bid, 'decide_return', user, {
            meta,
            remarks: 'Returned by the panel for changes',
            details: { outcome: 'returned' },
            set: { decidedAt: new Date() },
          });
        }
        return {
          voteId: vote.id,
          decision: vote.decision,
          tier,
          recused,
          counted: recused
            ? await tx.countBy(BidVote, { bidId: bid.id, reviewRound: bid.reviewRound, recused: false })
            : counted.length,
          quorum,
          bidState: bid.state,
        };
      });
    } catch (e) {
      if (e instanceof ForbiddenError)
        await this.audit.record({
          action: 'bid.vote',
          outcome: 'denied',
          actor: user,
          bidId,
          subjectType: 'bid',
          subjectId: bidId,
          meta,
          details: { code: e.code },
        });
      if (
        (e as { driverError?: { constraint?: string } }).driverError?.constraint ===
        'bid_votes_one_per_member'
      )
        throw new ConflictError('ALREADY_VOTED', 'You have already voted on this bid');
      throw e;
    }
  }
}
