import type { EntityManager } from 'typeorm';
import { NotFoundError, type Principal } from '@custodian/core';
import { applicantOrg, reviewersSee } from './bid-access';
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

/** Locks a bid that was submitted (what reviewers may see and act on), or 404. */
export async function lockBidForReviewer(tx: EntityManager, id: string): Promise<Bid> {
  const bid = await tx.findOne(Bid, { where: { id }, lock: { mode: 'pessimistic_write' } });
  if (!bid || !reviewersSee(bid)) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
  return bid;
}

/** The caller's applicant organisation, or 404 for anyone who is not a researcher. */
export function requireApplicantOrg(user: Principal): string {
  const org = applicantOrg(user);
  if (!org) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
  return org;
}
