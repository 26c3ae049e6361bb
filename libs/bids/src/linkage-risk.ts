import type { Tier } from '@custodian/catalog';

/**
 * Pseudonymised bids of one organisation joined with each other (#27). Birth year-month, postcode
 * district and sex are unique for most persons (89 % in the synthetic population), so two
 * pseudonymised bids of one organisation can be joined one-to-one although they share no pseudonym
 * (`pseudo_id` is keyed per bid). This is inherent in the tier's columns, so the control is
 * governance: the screening officer and the panel see the organisation's other active (approved or
 * active) pseudonymised bids with their overlap, and the agreement of a pseudonymised bid carries
 * a no-linkage condition unless every approving panel member approved linkage.
 */
export const NO_LINKAGE_CONDITION =
  "No linkage: the recipient shall not link, match or combine these data with data released under any other bid or agreement (the organisation's other pseudonymised bids included) without the panel's approval";

/** The fields that identify a person across pseudonymised files (besides the per-bid pseudonym). */
export const LINKING_FIELDS = ['date_of_birth', 'postcode', 'sex'] as const;

interface BidShape {
  datasets: { dataset: string; fields: string[] }[];
  cohort: { practices?: string[]; postcodeAreas?: string[] };
}

export interface BidOverlap {
  sharedDatasets: string[];
  /** `dataset.field`, in this bid's order. */
  sharedFields: string[];
  /**
   * False only when the cohorts' definitions exclude each other (both name practices, none in
   * common; or both name postcode areas, none in common). People move, so even then the persons
   * may overlap over time: a reviewer reads it as "the definitions are disjoint".
   */
  cohortsMayOverlap: boolean;
}

export function overlapOf(bid: BidShape, other: BidShape): BidOverlap {
  const theirs = new Map(other.datasets.map((d) => [d.dataset, new Set(d.fields)]));
  const sharedDatasets = bid.datasets.filter((d) => theirs.has(d.dataset)).map((d) => d.dataset);
  const sharedFields = bid.datasets.flatMap((d) =>
    d.fields.filter((f) => theirs.get(d.dataset)?.has(f)).map((f) => `${d.dataset}.${f}`),
  );
  const disjoint = (a?: string[], b?: string[]) =>
    Boolean(
      a?.length && b?.length && !a.some((x) => b.map((y) => y.toUpperCase()).includes(x.toUpperCase())),
    );
  return {
    sharedDatasets,
    sharedFields,
    cohortsMayOverlap: !(
      disjoint(bid.cohort.practices, other.cohort.practices) ||
      disjoint(bid.cohort.postcodeAreas, other.cohort.postcodeAreas)
    ),
  };
}

/** The linking fields a bid's files carry (any dataset). */
export const linkingFieldsOf = (bid: BidShape): string[] =>
  LINKING_FIELDS.filter((f) => bid.datasets.some((d) => d.fields.includes(f)));

/**
 * The conditions of an approval: the panel's, and the no-linkage condition for a pseudonymised
 * grant unless linkage was approved (fail closed: not approved unless every approving vote said so).
 */
export function approvalConditions(
  conditions: string[],
  grantedTier: Tier,
  linkageApproved: boolean,
): string[] {
  return grantedTier === 'pseudonymised' && !linkageApproved && !conditions.includes(NO_LINKAGE_CONDITION)
    ? [...conditions, NO_LINKAGE_CONDITION]
    : conditions;
}
