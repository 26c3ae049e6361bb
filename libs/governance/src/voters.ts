import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { BidVoters } from '@custodian/bids';

/** Governance's named query of its votes for the applicant's side (`BID_VOTERS` of bids). */
@Injectable()
export class PanelVoters implements BidVoters {
  /** Everyone who voted on the bid in any round, recused or not. */
  async votersOf(bidId: string, tx: EntityManager): Promise<string[]> {
    const rows: { voter_id: string }[] = await tx.query(
      'SELECT DISTINCT voter_id FROM bid_votes WHERE bid_id = $1',
      [bidId],
    );
    return rows.map((v) => v.voter_id);
  }
}
