export { GovernanceModule } from './governance.module';
export { GovernanceHttpModule } from './governance-http.module';
export { PanelController } from './panel.controller';
export { PanelService } from './panel.service';
export { AmendmentReviewService } from './amendment-review.service';
export { AmendmentReviewController } from './amendment-review.controller';
export { ScreeningService } from './screening.service';
export { BidVote } from './vote.entity';
export { AmendmentVoteResultDto, ScreenAmendmentDto, ScreenBidDto, VoteDto, VoteResultDto } from './dto';
export {
  amendmentVoteRefusal,
  decide,
  isAbove,
  voteRefusal,
  voterRefusal,
  type CountedVote,
  type PanelOutcome,
  type VoteDecision,
} from './decision-rule';
export { seedDemoBids } from './demo';
export { GOVERNANCE_ERRORS } from './governance.errors';
