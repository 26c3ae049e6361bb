import type { EntityManager } from 'typeorm';
import { NotFoundError, type Principal } from '@custodian/core';
import { applicantOrg, REVIEWED_BID_SQL, reviewerScope, reviewersSee } from './bid-access';
import { Bid } from './bid.entity';
import { BIDS_ERRORS } from './bids.errors';

/** Locks the bid of the applicant's organisation, or 404 (never 403: its existence is not disclosed). */
export async function lockBidForApplicant(
  tx: EntityManager,
  id: string,
  organisationId: string,
): Promise<Bid> {
  const bid = await tx.findOne(Bid, { where: { id, organisationId }, lock: { mode: 'pessimistic_write' } });
  if (!bid) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
  return bid;
}

/**
 * Locks a bid the reviewer may read (`reviewerScope`: a panel member only one before the panel), or
 * the same 404 as an unknown id: acting on a bid one may not read must not tell its state either
 * (a review, 2026-12-07: a panel member's vote on a bid waiting for screening answered 409 naming
 * its state).
 */
export async function lockBidForReviewer(tx: EntityManager, id: string, user: Principal): Promise<Bid> {
  const scope = reviewerScope(user);
  const bid = await tx.findOne(Bid, { where: { id }, lock: { mode: 'pessimistic_write' } });
  if (!bid || !scope || !reviewersSee(bid)) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
  if (scope === 'panel') {
    const [seen] = await tx.query(`SELECT 1 FROM bids b WHERE b.id = $1 AND ${REVIEWED_BID_SQL}`, [id]);
    if (!seen) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
  }
  return bid;
}

/** The caller's applicant organisation, or 404 for anyone who is not a researcher. */
export function requireApplicantOrg(user: Principal): string {
  const org = applicantOrg(user);
  if (!org) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
  return org;
}
