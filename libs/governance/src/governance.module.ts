import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { BID_VOTERS, BidsModule } from '@custodian/bids';
import { RegisterModule } from '@custodian/register';
import { AmendmentReviewService } from './amendment-review.service';
import { PanelService } from './panel.service';
import { ScreeningService } from './screening.service';
import { BidVote } from './vote.entity';
import { PanelVoters } from './voters';

/**
 * Screening, votes, recusal, quorum and the decision: the reviewers' side of a bid. Global: it
 * provides bids' `BID_VOTERS` (who voted on a bid), as bids does not import governance.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([BidVote]), AuditModule, BidsModule, RegisterModule],
  providers: [
    PanelService,
    ScreeningService,
    AmendmentReviewService,
    PanelVoters,
    { provide: BID_VOTERS, useExisting: PanelVoters },
  ],
  exports: [PanelService, ScreeningService, AmendmentReviewService, BID_VOTERS],
})
export class GovernanceModule {}
