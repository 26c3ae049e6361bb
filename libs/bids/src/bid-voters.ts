import type { EntityManager } from 'typeorm';

/**
 * What the applicant's side needs of the panel's votes (governance's table): who voted on a
 * bid, in any round, recused or not — they may not release it (SPEC §1). Governance owns the
 * votes and provides it (`BID_VOTERS`), so the import arrow runs one way: governance → bids.
 */
export interface BidVoters {
  votersOf(bidId: string, tx: EntityManager): Promise<string[]>;
}
export const BID_VOTERS = Symbol('BID_VOTERS');
