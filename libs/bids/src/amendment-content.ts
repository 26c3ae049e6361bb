import type { EntityManager } from 'typeorm';
import { ConflictError, NotFoundError } from '@custodian/core';
import { amendmentDiff, type AmendableContent } from './amendment-diff';
import { AMENDABLE_BID_STATES } from './amendment-state';
import type { AmendmentDto, UpdateAmendmentDto } from './amendment.dto';
import { reviewerScope, reviewersSeeVersion } from './bid-access';
import { Agreement, Bid, BidVersion } from './bid.entity';
import { BIDS_ERRORS } from './bids.errors';

/** An amendment's content: merging an edit onto a version, and the answer with its diff (#25). */
export const contentOf = (x: Bid | BidVersion): AmendableContent => ({
  datasets: x.datasets,
  cohort: x.cohort ?? {},
  aggregation: x.aggregation,
  durationMonths: x.durationMonths,
  recipients: x.recipients,
});

/** Drops keys whose value is undefined (a DTO's absent properties), as the stored JSON would. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export function merged(base: AmendableContent, dto: UpdateAmendmentDto): AmendableContent {
  return {
    datasets: dto.datasets
      ? dto.datasets.map((d) => ({ dataset: d.dataset, fields: d.fields }))
      : base.datasets,
    cohort: dto.cohort !== undefined ? plain({ ...dto.cohort }) : base.cohort,
    aggregation:
      dto.aggregation !== undefined ? { dimensions: [...dto.aggregation.dimensions] } : base.aggregation,
    durationMonths: dto.durationMonths ?? base.durationMonths,
    recipients: dto.recipients ?? base.recipients,
  };
}

export function toAmendmentDto(
  bid: Bid,
  r: BidVersion,
  all: BidVersion[],
  agreements: Agreement[],
): AmendmentDto {
  const base = all.find((x) => x.version === r.baseVersion);
  const diff = base ? amendmentDiff(contentOf(base), contentOf(r), bid.grantedTier!).entries : [];
  return {
    bidId: r.bidId,
    version: r.version,
    baseVersion: r.baseVersion,
    state: r.state,
    scope: r.scope,
    reason: r.reason,
    datasets: r.datasets,
    cohort: r.cohort,
    aggregation: r.aggregation,
    durationMonths: r.durationMonths,
    recipients: r.recipients,
    conditions: r.conditions,
    diff,
    agreementReference:
      agreements.filter((a) => a.bidVersion === r.version).sort((a, b) => b.version - a.version)[0]
        ?.reference ?? null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    submittedAt: r.submittedAt,
    decidedAt: r.decidedAt,
  };
}

/** Only an approved or active bid is amended (409 otherwise). */
export function assertAmendable(bid: Bid): void {
  if (!(AMENDABLE_BID_STATES as readonly string[]).includes(bid.state))
    throw new ConflictError(
      BIDS_ERRORS.NOT_AMENDABLE,
      `A bid in state ${bid.state} cannot be amended: only approved and active bids are`,
      { state: bid.state },
    );
}

/**
 * An amendment of a bid the caller sees, as its DTO: the applicant's organisation (`own`) reads every
 * version, reviewers those `reviewersSeeVersion` lets them (`scope`: `reviewerScope` of the caller);
 * anything else is the 404 of no amendment.
 */
export async function readAmendment(
  em: EntityManager,
  bid: Bid,
  version: number,
  own: boolean,
  scope: ReturnType<typeof reviewerScope> = 'all',
): Promise<AmendmentDto> {
  const rows = await em.find(BidVersion, { where: { bidId: bid.id } });
  const row = rows.find((r) => r.version === version);
  if (!row || (!own && !reviewersSeeVersion(row, scope)))
    throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Amendment');
  return toAmendmentDto(bid, row, rows, await em.find(Agreement, { where: { bidId: bid.id } }));
}
