import type { DataSource, EntityManager } from 'typeorm';
import type { AuditService } from '@custodian/audit';
import { ConflictError, ForbiddenError, type Principal, type RequestMeta } from '@custodian/core';
import { voterRefusal } from './decision-rule';
import type { VoteDto } from './dto';
import { GOVERNANCE_ERRORS } from './governance.errors';
import { BidVote } from './vote.entity';

/**
 * What a reviewer's action on a bid and on an amendment share (screening.service.ts,
 * panel.service.ts, amendment-review.service.ts): the audit of a refusal, the vote's transaction
 * and the vote's row.
 */

/** A reviewer refused (403): audited as denied, apart from the transaction the refusal undid. */
export async function auditDenied(
  audit: AuditService,
  user: Principal,
  bidId: string,
  action: string,
  e: ForbiddenError,
  meta?: RequestMeta,
): Promise<void> {
  await audit.record({
    action,
    outcome: 'denied',
    actor: user,
    bidId,
    subjectType: 'bid',
    subjectId: bidId,
    meta,
    details: { code: e.code },
  });
}

/**
 * A vote's transaction: the voter's roles are checked first (`voterRefusal`), then `work` runs in one
 * transaction (which locks the bid before anything else); a refusal inside is audited as `action`
 * denied, and a second vote of the member in the round (the unique index) is 409 ALREADY_VOTED.
 */
export async function voteTransaction<T>(
  db: DataSource,
  audit: AuditService,
  vote: { user: Principal; bidId: string; action: string; meta?: RequestMeta; alreadyVoted: string },
  work: (tx: EntityManager) => Promise<T>,
): Promise<T> {
  const refused = voterRefusal(vote.user);
  if (refused) throw refused;
  try {
    return await db.transaction(work);
  } catch (e) {
    if (e instanceof ForbiddenError)
      await auditDenied(audit, vote.user, vote.bidId, vote.action, e, vote.meta);
    if (
      (e as { driverError?: { constraint?: string } }).driverError?.constraint === 'bid_votes_one_per_member'
    )
      throw new ConflictError(GOVERNANCE_ERRORS.ALREADY_VOTED, vote.alreadyVoted);
    throw e;
  }
}

/**
 * The vote's row: an approval keeps `tier`, its conditions and its linkage approval; a return keeps
 * its conditions as what the applicant is asked to change (the return's remarks); a declared
 * conflict of interest recuses the voter — on that bid for good: a conflict declared in an earlier
 * review round, or on the request an amendment changes, recuses every later vote (SPEC §1: "cannot
 * vote on that bid"; probe 23: the next round counted the member's vote).
 */
export async function saveVote(
  tx: EntityManager,
  user: Principal,
  dto: VoteDto,
  at: { bidId: string; reviewRound: number; bidVersion?: number; tier: BidVote['tier'] },
): Promise<BidVote> {
  const approve = dto.decision === 'approve';
  const [{ declared }]: { declared: boolean }[] = await tx.query(
    `SELECT EXISTS (SELECT 1 FROM bid_votes WHERE bid_id = $1 AND voter_id = $2 AND conflict_of_interest) AS declared`,
    [at.bidId, user.id],
  );
  return tx.save(
    tx.create(BidVote, {
      bidId: at.bidId,
      reviewRound: at.reviewRound,
      ...(at.bidVersion === undefined ? {} : { bidVersion: at.bidVersion }),
      voterId: user.id,
      decision: dto.decision,
      tier: approve ? at.tier : null,
      conditions: approve || dto.decision === 'return' ? (dto.conditions ?? []) : [],
      conflictOfInterest: dto.conflictOfInterest,
      approveLinkage: approve && dto.approveLinkage === true,
      interests: dto.interests ?? null,
      recused: dto.conflictOfInterest || declared,
    }),
  );
}
