import { CATALOGUE_FIELDS, PERSON_FIELDS, type Dataset, type Tier } from '@custodian/catalog';
import { objectionHandling, type LegalBasis } from './bid-rules';
import type { BidState } from './bid-state';
import type { LinkageRiskDto } from './linkage-risk.dto';

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

/**
 * Whether a bid's files follow persons through their events: a file of a row per event (a field
 * that is not a person field) that also carries the person column (`nhs_number` asked: the number,
 * `pseudo_id`, or in the anonymised tier the person token). kᵐ-anonymity protects an anonymised file
 * against an attacker who knows up to m of a person's events, not against one who holds the whole
 * history from another bid's file: on the demo data 36.5 % of the persons of an anonymised GP file
 * with a person token were unique on their class and multiset of items, which joins two such bids
 * one-to-one (an attacker's probe, 2026-12-07). So those bids are governed like pseudonymised ones.
 */
export function carriesHistories(bid: BidShape): boolean {
  return bid.datasets.some(
    (d) =>
      d.fields.includes('nhs_number') &&
      (CATALOGUE_FIELDS[d.dataset as Dataset] ?? []).some(
        (f) => d.fields.includes(f) && !PERSON_FIELDS.has(f),
      ),
  );
}

/**
 * Whether a bid at `tier` releases files another bid's could be joined with, person to person:
 * record-level with identifiers (pseudonymised, identifiable), or anonymised with event histories.
 */
export const linkable = (bid: BidShape, tier: Tier): boolean =>
  tier === 'pseudonymised' || tier === 'identifiable' || (tier === 'anonymised' && carriesHistories(bid));

/** The linking fields a bid's files carry (any dataset). */
export const linkingFieldsOf = (bid: BidShape): string[] =>
  LINKING_FIELDS.filter((f) => bid.datasets.some((d) => d.fields.includes(f)));

/**
 * The conditions of an approval: the panel's, and the no-linkage condition for a pseudonymised
 * grant, or an anonymised one of event histories (`histories`: `carriesHistories`), unless linkage
 * was approved (fail closed: not approved unless every approving vote said so).
 */
export function approvalConditions(
  conditions: string[],
  grantedTier: Tier,
  linkageApproved: boolean,
  histories = false,
): string[] {
  const conditioned = grantedTier === 'pseudonymised' || (grantedTier === 'anonymised' && histories);
  return conditioned && !linkageApproved && !conditions.includes(NO_LINKAGE_CONDITION)
    ? [...conditions, NO_LINKAGE_CONDITION]
    : conditions;
}

/** Amendment states in which a version may still come into force (submitted to approved). */
export const PENDING_VERSION_STATES = ['submitted', 'in_review', 'approved'] as const;

type Reviewed = BidShape & {
  id: string;
  title: string;
  state: BidState;
  legalBasis: LegalBasis;
  grantedTier: Tier | null;
  requestedTier: Tier;
};

/**
 * The bid as it may be released: its content in force, or else a pending amendment's (`pending`,
 * the organisation's amendments submitted, in review or approved) that is linkable at its tier. An
 * amendment adding the person column to an anonymised bid made it linkable, and no reviewer saw it
 * (review-15, 2026-12-07).
 */
function asLinkable<B extends Reviewed>(
  b: B,
  pending: readonly (BidShape & { bidId: string })[],
): B | undefined {
  const tier = b.grantedTier ?? b.requestedTier;
  const v = pending.find((p) => p.bidId === b.id);
  // Whichever may come into force: the fields of both (an amendment adding the linking fields to a
  // pseudonymised bid was not looked at: review-16 L1); two cohorts that differ read as no bound.
  const cohort = v && JSON.stringify(v.cohort) !== JSON.stringify(b.cohort) ? {} : b.cohort;
  const both = v ? { ...b, datasets: unionOf(b.datasets, v.datasets), cohort } : b;
  return linkable(both, tier) ? both : undefined;
}

/** The datasets of two versions, each with the fields of either. */
function unionOf(a: BidShape['datasets'], b: BidShape['datasets']): BidShape['datasets'] {
  const out = new Map(a.map((d) => [d.dataset, [...d.fields]]));
  for (const d of b) out.set(d.dataset, [...new Set([...(out.get(d.dataset) ?? []), ...d.fields])]);
  return [...out].map(([dataset, fields]) => ({ dataset, fields }));
}

const tierOf = (b: Reviewed) => b.grantedTier ?? b.requestedTier;

/**
 * The linkage risk shown to reviewers of `reviewed`: the organisation's other bids in review,
 * approved, active or ended (`others`) whose files may be set beside this bid's —
 * - both linkable (or made so by a pending amendment): joined person to person;
 * - one aggregate, the other record-level (`countsDisclose`): exact counts filtered from the
 *   record-level files make the aggregate's rounding and `*` a sure answer about a person (an
 *   attacker's probe, 2026-12-07: a target's presence read from a rounded cell beside a
 *   pseudonymised file of nearly the same population) —
 * with their overlap. Undefined where this bid is neither linkable nor aggregate and no such bid is
 * listed.
 */
export function linkageRiskOf(
  reviewed: Reviewed,
  others: readonly Reviewed[],
  pending: readonly (BidShape & { bidId: string })[],
): LinkageRiskDto | undefined {
  const linked = asLinkable(reviewed, pending);
  const bid = linked ?? reviewed;
  const tier = tierOf(bid);
  const aggregate = tier === 'aggregate';
  const listed = others.flatMap((other) => {
    const countsDisclose = aggregate !== (tierOf(other) === 'aggregate');
    const o = (linked && asLinkable(other, pending)) || (countsDisclose ? other : undefined);
    if (!o) return [];
    return [
      {
        id: o.id,
        title: o.title,
        state: o.state,
        tier: tierOf(o),
        histories: carriesHistories(o),
        objectionsDiffer: objectionsApplied(bid, tier) !== objectionsApplied(o, tierOf(o)),
        countsDisclose,
        ...overlapOf(bid, o),
      },
    ];
  });
  if (!linked && !aggregate && !listed.length) return undefined;
  return {
    otherPseudonymisedBids: listed,
    linkingFields: tier === 'anonymised' || aggregate ? [] : linkingFieldsOf(bid),
    histories: carriesHistories(bid) && tier !== 'aggregate',
    condition: NO_LINKAGE_CONDITION,
  };
}

/**
 * Whether a release of `bid` at `tier` leaves Type 2 objectors out. Two bids of one organisation
 * that differ here (an s251 bid and a statutory one, say) differ by the Type 2 objectors among the
 * persons both cover, as SPEC §5 makes them: set side by side, the files list who objected (an
 * attacker's probe, 2026-12-07). The release guards compare only releases that treat objections
 * alike, so this is shown to reviewers instead (`objectionsDiffer`).
 */
const objectionsApplied = (bid: { legalBasis: LegalBasis }, tier: Tier) =>
  objectionHandling(bid.legalBasis, tier).applied;
