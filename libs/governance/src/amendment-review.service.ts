import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  APP_CONFIG,
  ConflictError,
  ForbiddenError,
  type AppConfig,
  type Principal,
  type RequestMeta,
} from '@custodian/core';
import {
  assertNotApplicant,
  type AmendmentDto,
  BIDS_ERRORS,
  type Bid,
  BidAmendmentsService,
  type BidVersion,
  BidWorkflow,
  carriesHistories,
} from '@custodian/bids';
import { RegisterLogService } from '@custodian/register';
import { amendmentVoteRefusal, decide, type PanelOutcome } from './decision-rule';
import { GOVERNANCE_ERRORS } from './governance.errors';
import type { AmendmentVoteResultDto, ScreenAmendmentDto, VoteDto } from './dto';
import { BidVote } from './vote.entity';
import { auditDenied, saveVote, voteTransaction } from './vote-steps';

/**
 * Screening and the panel's decision on amendments (#25). The officer and the panel decide on the
 * change only (its diff against the version in force); a narrowing amendment may be approved by a
 * release officer alone, a widening one only by the panel, with the usual quorum and recusal. An
 * approval offers the agreement's next version and writes the amendment's register line.
 */
@Injectable()
export class AmendmentReviewService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly amendments: BidAmendmentsService,
    private readonly workflow: BidWorkflow,
    private readonly audit: AuditService,
    private readonly registerLog: RegisterLogService,
  ) {}

  async screen(
    user: Principal,
    bidId: string,
    version: number,
    dto: ScreenAmendmentDto,
    meta?: RequestMeta,
  ): Promise<AmendmentDto> {
    try {
      await this.db.transaction(async (tx) => {
        const { bid, amendment } = await this.amendments.lockForReview(tx, bidId, version, user);
        assertNotApplicant(user, bid, 'screen');
        const opts = { meta, remarks: dto.remarks ?? null, internalNotes: dto.notes ?? null };
        if (dto.outcome === 'approve') {
          // An approval alone is a decision, which an administrator never makes (SPEC §1: they never
          // vote, whatever else they hold; probe 36). Accepting it into the panel's review is theirs.
          if (user.roles.includes('admin'))
            throw new ForbiddenError(
              GOVERNANCE_ERRORS.SEGREGATION_OF_DUTIES,
              'An administrator does not approve an amendment alone: accept it into the panel’s review, or another release officer approves it',
            );
          const diff = await this.amendments.diffOf(tx, bid, amendment);
          if (amendment.state === 'submitted' && diff.scope !== 'narrowing')
            throw new ConflictError(
              BIDS_ERRORS.AMENDMENT_WIDENS,
              'This amendment widens what was approved: only the panel can approve it (accept it into review)',
              { scope: diff.scope },
            );
          await this.amendments.transition(tx, bid, amendment, 'officer_approve', user, {
            ...opts,
            details: { scope: diff.scope },
            set: { decidedAt: new Date() },
          });
          await this.approved(tx, bid, amendment, []);
        } else
          await this.amendments.transition(
            tx,
            bid,
            amendment,
            dto.outcome === 'accept' ? 'screen_accept' : 'screen_return',
            user,
            opts,
          );
      });
    } catch (e) {
      if (e instanceof ForbiddenError)
        await auditDenied(this.audit, user, bidId, 'bid.amendment.screen', e, meta);
      throw e;
    }
    return this.amendments.get(user, bidId, version);
  }

  async vote(
    user: Principal,
    bidId: string,
    version: number,
    dto: VoteDto,
    meta?: RequestMeta,
  ): Promise<AmendmentVoteResultDto> {
    return voteTransaction(
      this.db,
      this.audit,
      {
        user,
        bidId,
        action: 'bid.amendment.vote',
        meta,
        alreadyVoted: 'You have already voted on this amendment',
      },
      async (tx) => {
        const { bid, amendment } = await this.amendments.lockForReview(tx, bidId, version, user);
        const round = amendment.reviewRound ?? -1;
        const refusal = amendmentVoteRefusal(user, dto, {
          amendment,
          bid: { organisationId: bid.organisationId, grantedTier: bid.grantedTier! },
          screenedIt: await this.workflow.screenedAmendmentIntoReview(tx, bid.id, version, user.id),
          alreadyVoted: await tx.existsBy(BidVote, { bidId: bid.id, reviewRound: round, voterId: user.id }),
        });
        if (refusal) throw refusal;
        const vote = await this.record(tx, user, bid, amendment, dto, meta);
        const counted = await tx.find(BidVote, {
          where: { bidId: bid.id, reviewRound: round, recused: false },
          order: { createdAt: 'ASC', id: 'ASC' },
        });
        const quorum = this.config.panelQuorum;
        const outcome = vote.recused
          ? ({ outcome: 'pending' } as const)
          : decide(
              counted.map((v) => ({
                decision: v.decision,
                tier: bid.grantedTier!,
                conditions: v.conditions,
                approveLinkage: v.approveLinkage,
              })),
              quorum,
              bid.grantedTier!,
              carriesHistories(amendment),
            );
        await this.apply(tx, user, bid, amendment, outcome, returnedFor(counted), meta);
        return {
          voteId: vote.id,
          decision: vote.decision,
          recused: vote.recused,
          counted: counted.length,
          quorum,
          amendmentState: amendment.state,
        };
      },
    );
  }

  /** The vote, its internal bid event and its audit entry (a declared conflict recuses the voter). */
  private async record(
    tx: EntityManager,
    user: Principal,
    bid: Bid,
    amendment: BidVersion,
    dto: VoteDto,
    meta?: RequestMeta,
  ): Promise<BidVote> {
    const vote = await saveVote(tx, user, dto, {
      bidId: bid.id,
      reviewRound: amendment.reviewRound!,
      bidVersion: amendment.version,
      tier: bid.grantedTier,
    });
    const details = {
      voteId: vote.id,
      version: amendment.version,
      round: amendment.reviewRound,
      decision: vote.decision,
      conditions: vote.conditions,
      conflictOfInterest: vote.conflictOfInterest,
      recused: vote.recused,
    };
    await this.workflow.event(tx, bid.id, user, {
      action: vote.recused ? 'amend_vote_recused' : 'amend_vote',
      internal: true,
      details,
    });
    await this.audit.record(
      {
        action: 'bid.amendment.vote',
        actor: user,
        bidId: bid.id,
        subjectType: 'bid_vote',
        subjectId: vote.id,
        meta,
        details: { version: amendment.version, decision: vote.decision, recused: vote.recused },
      },
      tx,
    );
    return vote;
  }

  private async apply(
    tx: EntityManager,
    user: Principal,
    bid: Bid,
    amendment: BidVersion,
    outcome: PanelOutcome,
    asked: string[],
    meta?: RequestMeta,
  ): Promise<void> {
    if (outcome.outcome === 'pending') return;
    const action =
      outcome.outcome === 'approved'
        ? 'decide_approve'
        : outcome.outcome === 'rejected'
          ? 'decide_reject'
          : 'decide_return';
    await this.amendments.transition(tx, bid, amendment, action, user, {
      meta,
      remarks:
        outcome.outcome === 'approved'
          ? 'Amendment approved by the panel'
          : outcome.outcome === 'rejected'
            ? 'Amendment rejected by the panel: the version in force is unchanged'
            : asked.length
              ? `Amendment returned by the panel for changes:\n${asked.map((c) => `- ${c}`).join('\n')}`
              : 'Amendment returned by the panel for changes',
      details: { outcome: outcome.outcome },
      set: { decidedAt: new Date() },
    });
    if (outcome.outcome === 'approved') await this.approved(tx, bid, amendment, outcome.conditions);
  }

  /** The agreement's next version offered, and the amendment's line in the register log (after its audit entry). */
  private async approved(tx: EntityManager, bid: Bid, amendment: BidVersion, conditions: string[]) {
    await this.amendments.offerAgreement(tx, bid, amendment, conditions);
    await this.registerLog.appendAmendment(tx, bid.id, amendment.version);
  }
}

/**
 * What the members who returned an amendment asked for (their votes' conditions): the return's
 * remarks, which the applicant reads, as for a bid's return (probe 23: a fixed sentence dropped
 * them). Not who asked for what.
 */
function returnedFor(counted: BidVote[]): string[] {
  return [...new Set(counted.filter((v) => v.decision === 'return').flatMap((v) => v.conditions ?? []))];
}
