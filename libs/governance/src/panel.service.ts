import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { APP_CONFIG, type AppConfig, type Principal, type RequestMeta } from '@custodian/core';
import { AgreementsService, Bid, BidsService, BidWorkflow, carriesHistories } from '@custodian/bids';
import { RegisterLogService } from '@custodian/register';
import { decide, voteRefusal, type CountedVote, type PanelOutcome } from './decision-rule';
import type { VoteDto, VoteResultDto } from './dto';
import { BidVote } from './vote.entity';
import { saveVote, voteTransaction } from './vote-steps';

/**
 * The governance panel: votes with a declaration of interests, recusal, quorum and the decision.
 * Every vote locks the bid row first, so concurrent votes are serialised and exactly one of them
 * reaches quorum and decides. Who may vote is `voteRefusal`, what the votes decide is `decide`
 * (decision-rule.ts, pure); this class reads, writes and applies them.
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
    private readonly registerLog: RegisterLogService,
  ) {}

  async vote(user: Principal, bidId: string, dto: VoteDto, meta?: RequestMeta): Promise<VoteResultDto> {
    return voteTransaction(
      this.db,
      this.audit,
      { user, bidId, action: 'bid.vote', meta, alreadyVoted: 'You have already voted on this bid' },
      async (tx) => {
        const bid = await this.bids.lockForReviewer(tx, bidId, user);
        const refusal = voteRefusal(user, dto, {
          bid,
          screenedIt: await this.workflow.screenedIntoReview(tx, bid.id, user.id),
          alreadyVoted: await tx.existsBy(BidVote, {
            bidId: bid.id,
            reviewRound: bid.reviewRound,
            voterId: user.id,
          }),
        });
        if (refusal) throw refusal;
        const vote = await this.record(tx, user, bid, dto, meta);
        const counted = vote.recused ? [] : await this.countedVotes(tx, bid);
        const quorum = this.config.panelQuorum;
        const outcome = decide(
          counted.map((v): CountedVote => ({
            decision: v.decision,
            tier: v.tier ?? bid.requestedTier,
            conditions: v.conditions,
            approveLinkage: v.approveLinkage,
          })),
          quorum,
          bid.requestedTier,
          carriesHistories(bid),
        );
        await this.apply(tx, user, bid, outcome, counted, meta);
        return {
          voteId: vote.id,
          decision: vote.decision,
          tier: dto.tier ?? bid.requestedTier,
          recused: vote.recused,
          counted: vote.recused
            ? await tx.countBy(BidVote, { bidId: bid.id, reviewRound: bid.reviewRound, recused: false })
            : counted.length,
          quorum,
          bidState: bid.state,
        };
      },
    );
  }

  /** The vote, its (internal) bid event and its audit entry. A declared conflict recuses the voter. */
  private async record(
    tx: EntityManager,
    user: Principal,
    bid: Bid,
    dto: VoteDto,
    meta?: RequestMeta,
  ): Promise<BidVote> {
    const vote = await saveVote(tx, user, dto, {
      bidId: bid.id,
      reviewRound: bid.reviewRound,
      tier: dto.tier ?? bid.requestedTier,
    });
    // As recorded: a conflict declared earlier on the bid recuses this vote too (review-24: the
    // history and the audit trail said what the request said).
    const recused = vote.recused;
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
    return vote;
  }

  /** The non-recused votes of the bid's current review round, oldest first. */
  private countedVotes(tx: EntityManager, bid: Bid): Promise<BidVote[]> {
    return tx.find(BidVote, {
      where: { bidId: bid.id, reviewRound: bid.reviewRound, recused: false },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  /**
   * The decision, once there is one: the bid's transition, and on approval the agreement offered
   * and the decision's line in the register log.
   */
  private async apply(
    tx: EntityManager,
    user: Principal,
    bid: Bid,
    outcome: PanelOutcome,
    counted: BidVote[],
    meta?: RequestMeta,
  ): Promise<void> {
    if (outcome.outcome === 'approved') {
      await this.workflow.transition(tx, bid, 'decide_approve', user, {
        meta,
        remarks: 'Approved by the panel',
        details: { outcome: 'approved', grantedTier: outcome.grantedTier, conditions: outcome.conditions },
        set: { grantedTier: outcome.grantedTier, conditions: outcome.conditions, decidedAt: new Date() },
      });
      await this.agreements.offer(tx, bid);
      // The approval's register line, chained with the decision's audit entry just written (#24).
      await this.registerLog.appendDecision(tx, bid.id);
    } else if (outcome.outcome === 'rejected') {
      await this.workflow.transition(tx, bid, 'decide_reject', user, {
        meta,
        remarks: 'Rejected by the panel',
        details: { outcome: 'rejected' },
        set: { decidedAt: new Date() },
      });
    } else if (outcome.outcome === 'returned') {
      // What the members who returned it asked for (their vote's conditions) is what the applicant
      // must change: the return's remarks, which the applicant reads (a walk-through, 2026-12-06:
      // the texts were dropped and the applicant never heard why). Not who asked for what.
      const asked = [
        ...new Set(counted.filter((v) => v.decision === 'return').flatMap((v) => v.conditions ?? [])),
      ];
      await this.workflow.transition(tx, bid, 'decide_return', user, {
        meta,
        remarks: asked.length
          ? `Returned by the panel for changes:\n${asked.map((c) => `- ${c}`).join('\n')}`
          : 'Returned by the panel for changes',
        details: { outcome: 'returned' },
        set: { decidedAt: new Date() },
      });
    }
  }
}
