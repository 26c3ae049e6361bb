import { ORGANISATIONS_SOURCE, USERS_SOURCE } from '@custodian/identity';
import type { EntityManager } from 'typeorm';
import type { CatalogService } from '@custodian/catalog';
import { ValidationError } from '@custodian/core';
import { BASES_BY_TIER, BASES_NEEDING_REFERENCE, maxDurationMonths } from './bid-rules';
import type { Bid } from './bid.entity';
import { BIDS_ERRORS } from './bids.errors';

/** A bid's content: what the applicant writes (and, in part, amends). */
export type BidContent = Pick<
  Bid,
  | 'title'
  | 'purpose'
  | 'publicBenefit'
  | 'legalBasis'
  | 'legalBasisReference'
  | 'requestedTier'
  | 'datasets'
  | 'cohort'
  | 'aggregation'
  | 'durationMonths'
  | 'recipients'
>;

/**
 * Checks a bid's content against the rules of SPEC §4 and the catalogue: tier and legal basis,
 * datasets and fields, aggregation, cohort bounds, the term for the organisation's kind, and the
 * recipients (active researchers of the organisation). Used on create, edit and amendment.
 */
export async function validateBidContent(
  tx: EntityManager,
  catalogService: CatalogService,
  organisationId: string,
  c: BidContent,
): Promise<BidContent> {
  if (!BASES_BY_TIER[c.requestedTier].includes(c.legalBasis))
    throw new ValidationError(
      BIDS_ERRORS.TIER_LEGAL_BASIS_MISMATCH,
      `The ${c.requestedTier} tier cannot be requested under legal basis ${c.legalBasis}`,
    );
  if (BASES_NEEDING_REFERENCE.includes(c.legalBasis) && !c.legalBasisReference?.trim())
    throw new ValidationError(
      BIDS_ERRORS.LEGAL_BASIS_REFERENCE_REQUIRED,
      `legalBasisReference is required for legal basis ${c.legalBasis}`,
    );
  const catalog = await catalogService.load(tx);
  const seen = new Set<string>();
  for (const d of c.datasets) {
    const entry = catalog.datasets.find((x) => x.id === d.dataset);
    if (!entry)
      throw new ValidationError(BIDS_ERRORS.UNKNOWN_DATASET, `Unknown dataset ${d.dataset}`, {
        dataset: d.dataset,
      });
    if (seen.has(d.dataset))
      throw new ValidationError(BIDS_ERRORS.DUPLICATE_DATASET, `Dataset ${d.dataset} is listed twice`);
    seen.add(d.dataset);
    const unknown = d.fields.filter((f) => !entry.fields.some((x) => x.name === f));
    if (unknown.length)
      throw new ValidationError(
        BIDS_ERRORS.UNKNOWN_FIELD,
        `Fields not in the ${d.dataset} catalogue: ${unknown.join(', ')}`,
        { dataset: d.dataset, fields: unknown },
      );
  }
  // SPEC §4's own example states dimensions beside a pseudonymised tier: they are the counts the
  // panel may grant instead (a vote at the aggregate tier), so they are checked wherever given and
  // required only when the aggregate tier is what is asked for.
  if (c.requestedTier === 'aggregate' && !c.aggregation)
    throw new ValidationError(
      BIDS_ERRORS.AGGREGATION_REQUIRED,
      'The aggregate tier needs aggregation.dimensions',
    );
  if (c.aggregation) {
    const unknown = c.aggregation.dimensions.filter((d) => !catalog.dimensions.some((x) => x.name === d));
    if (unknown.length)
      throw new ValidationError(BIDS_ERRORS.UNKNOWN_DIMENSION, `Unknown dimensions: ${unknown.join(', ')}`, {
        dimensions: unknown,
      });
  }
  const { eventsFrom, eventsTo, ageMin, ageMax } = c.cohort;
  if (eventsFrom && eventsTo && eventsFrom > eventsTo)
    throw new ValidationError(BIDS_ERRORS.INVALID_COHORT, 'cohort.eventsFrom is after cohort.eventsTo');
  if (ageMin !== undefined && ageMax !== undefined && ageMin > ageMax)
    throw new ValidationError(BIDS_ERRORS.INVALID_COHORT, 'cohort.ageMin is above cohort.ageMax');
  const [org] = await tx.query(`SELECT kind FROM ${ORGANISATIONS_SOURCE} WHERE id = $1`, [organisationId]);
  const max = maxDurationMonths(org.kind);
  if (c.durationMonths > max)
    throw new ValidationError(
      BIDS_ERRORS.DURATION_TOO_LONG,
      `durationMonths is at most ${max} for a ${org.kind} organisation`,
      { max },
    );
  const [{ n }] = await tx.query(
    `SELECT count(*)::int AS n FROM ${USERS_SOURCE}
      WHERE id = ANY($1::uuid[]) AND organisation_id = $2 AND 'researcher' = ANY(roles) AND NOT disabled`,
    [c.recipients, organisationId],
  );
  if (n !== c.recipients.length)
    throw new ValidationError(
      BIDS_ERRORS.INVALID_RECIPIENTS,
      'Every recipient must be an active researcher of your organisation',
    );
  return c;
}
