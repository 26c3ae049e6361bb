export { GovernanceModule } from './governance.module';
export { GovernanceHttpModule } from './governance-http.module';
export { PanelController } from './panel.controller';
export { PanelService } from './panel.service';
export { ScreeningService } from './screening.service';
export { BidVote } from './vote.entity';
export { ScreenBidDto, VoteDto, VoteResultDto } from './dto';
export {
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
