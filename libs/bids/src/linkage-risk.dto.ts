import { ApiProperty } from '@nestjs/swagger';
import type { Tier } from '@custodian/catalog';
import { BID_STATES, type BidState } from './bid-state';

/** The linkage risk reviewers see on a bid (#27, `linkage-risk.ts`): `BidResponseDto.linkageRisk`. */
export class LinkedBidDto {
  @ApiProperty() id!: string;
  @ApiProperty() title!: string;
  @ApiProperty({ enum: BID_STATES }) state!: BidState;
  @ApiProperty({
    enum: ['aggregate', 'anonymised', 'pseudonymised', 'identifiable'],
    description:
      'The tier granted, or requested while undecided (aggregate beside a record-level bid only; anonymised where its files carry event histories or beside an aggregate bid)',
  })
  tier!: Tier;
  @ApiProperty({
    description:
      'Its files follow persons through their events (a person column and a file of a row per event): histories can be matched with this bid’s',
  })
  histories!: boolean;
  @ApiProperty({
    description:
      'One of the two bids leaves Type 2 objectors out and the other does not (e.g. s251 and statutory): side by side, their files show who objected among the persons both cover',
  })
  objectionsDiffer!: boolean;
  @ApiProperty({
    description:
      'One of the two bids is aggregate and the other record-level: exact counts filtered from the record-level files make the aggregate’s rounding and suppression a sure answer about a person',
  })
  countsDisclose!: boolean;
  @ApiProperty({ type: [String] }) sharedDatasets!: string[];
  @ApiProperty({ type: [String], description: '`dataset.field` both bids request' }) sharedFields!: string[];
  @ApiProperty({
    description: "False only when the cohorts' definitions exclude each other (practices or postcode areas)",
  })
  cohortsMayOverlap!: boolean;
}

export class LinkageRiskDto {
  @ApiProperty({
    type: [LinkedBidDto],
    description:
      "The applicant organisation's other bids, in review, approved, active or ended (files held or to come), whose files may be joined person to person with this bid's (pseudonymised or identifiable, or anonymised with event histories; granted or requested), or whose exact counts undo this bid's rounding or the other way round (one aggregate, one record-level: countsDisclose)",
  })
  otherPseudonymisedBids!: LinkedBidDto[];
  @ApiProperty({
    type: [String],
    description:
      'Fields of this bid that join persons across pseudonymised bids (birth year-month, district, sex); none for an anonymised or aggregate bid',
  })
  linkingFields!: string[];
  @ApiProperty({
    description:
      "This bid's files follow persons through their events (a person column and a file of a row per event). An anonymised file's kᵐ-anonymity does not stop a whole history, held from another bid, matching its person",
  })
  histories!: boolean;
  @ApiProperty({ description: 'The condition the agreement carries unless the panel approves linkage' })
  condition!: string;
}
