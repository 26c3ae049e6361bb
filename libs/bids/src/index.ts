export {
  AgreementsService,
  type Releasable,
  RELEASE_DESTROY_QUEUE,
  type ReleaseDestroyJob,
} from './agreements.service';
export { BID_VOTERS, type BidVoters } from './bid-voters';
export { LEGAL_BASES, type LegalBasis, objectionHandling } from './bid-rules';
export { BID_STATES, type BidState, EDITABLE_STATES, REGISTER_STATES, TRANSITIONS } from './bid-state';
export { BidWorkflow } from './bid-workflow';
export { type Aggregation, Bid, type Cohort } from './bid.entity';
export { BidsHttpModule } from './bids-http.module';
export { BidsModule } from './bids.module';
export { assertNotApplicant, BidsService } from './bids.service';
export { type BidWithAgreement, toBidResponse } from './bid-read';
export { BidDto, CreateBidDto } from './dto';
export { BidsController } from './bids.controller';
export { approvalConditions, carriesHistories, NO_LINKAGE_CONDITION } from './linkage-risk';
export { BIDS_ERRORS } from './bids.errors';
export {
  agreementInForce,
  AMENDMENT_REGISTER_FACTS_SQL,
  releaseVersionInForce,
  bidOrganisationOf,
  bidsOfOrganisation,
  isBidRecipient,
  consentCohortOf,
  LOCK_BID_SQL,
  REVIEWER_BID_SQL,
} from './bid-queries';
export { amendmentDiff, type AmendableContent, type AmendmentDiff, type DiffEntry } from './amendment-diff';
export { AMENDABLE_BID_STATES, AMENDMENT_TRANSITIONS, type AmendmentAction } from './amendment-state';
export { AmendmentDto, AmendmentDiffEntryDto, CreateAmendmentDto, UpdateAmendmentDto } from './amendment.dto';
export { BidAmendmentsService } from './bid-amendments.service';
export { BidAmendmentsController } from './bid-amendments.controller';
export { BidVersion, type AmendmentScope, type VersionState, VERSION_STATES } from './bid.entity';
export { AGREEMENTS_SOURCE, BID_EVENTS_SOURCE, BID_VERSIONS_SOURCE, BIDS_SOURCE } from './sources';
export { BidIdParam, VersionParam } from './route-params';
