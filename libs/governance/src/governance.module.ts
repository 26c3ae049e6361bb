import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { BidsModule } from '@custodian/bids';
import { RegisterModule } from '@custodian/register';
import { AmendmentReviewService } from './amendment-review.service';
import { PanelService } from './panel.service';
import { ScreeningService } from './screening.service';
import { BidVote } from './vote.entity';

/** Screening, votes, recusal, quorum and the decision: the reviewers' side of a bid. */
@Module({
  imports: [TypeOrmModule.forFeature([BidVote]), AuditModule, BidsModule, RegisterModule],
  providers: [PanelService, ScreeningService, AmendmentReviewService],
  exports: [PanelService, ScreeningService, AmendmentReviewService],
})
export class GovernanceModule {}
