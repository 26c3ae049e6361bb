import { LEGAL_BASES } from '@custodian/bids';
import { AGGREGATE_DIMENSIONS, CATALOGUE_FIELDS, Dataset, TIERS } from '@custodian/catalog';
import { RELEASE_ERRORS } from './release.errors';
import type { ReleaseSpec } from './release.types';

/** A cohort event date as the spec holds it (and as the SQL is given it, literally). */
export const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Problems with a spec, as stable codes with a message free of patient data. Checked when the
 * release is requested and again when the job runs (data minimisation: only catalogue fields of
 * the approved datasets can ever reach a file).
 */
export function specProblems(spec: ReleaseSpec): { code: string; message: string }[] {
  const out: { code: string; message: string }[] = [];
  const bad = (code: string, message: string) => out.push({ code, message });
  if (!(TIERS as readonly string[]).includes(spec.tier))
    bad(RELEASE_ERRORS.RELEASE_TIER_INVALID, 'unknown tier');
  if (!(LEGAL_BASES as readonly string[]).includes(spec.legalBasis))
    bad(RELEASE_ERRORS.RELEASE_LEGAL_BASIS_INVALID, 'unknown legal basis');
  if (spec.legalBasis === 'none' && (spec.tier === 'identifiable' || spec.tier === 'pseudonymised'))
    bad(
      RELEASE_ERRORS.RELEASE_LEGAL_BASIS_INSUFFICIENT,
      `legal basis none allows only anonymised or aggregate releases`,
    );
  if (!Array.isArray(spec.datasets) || spec.datasets.length === 0)
    bad(RELEASE_ERRORS.RELEASE_NO_DATASET, 'at least one dataset is required');
  const seen = new Set<string>();
  for (const d of spec.datasets ?? []) {
    // Own keys only: a dataset named `__proto__` or `constructor` must be unknown, not inherited.
    const fields = Object.hasOwn(CATALOGUE_FIELDS, d.dataset)
      ? CATALOGUE_FIELDS[d.dataset as Dataset]
      : undefined;
    if (!fields) {
      bad(RELEASE_ERRORS.RELEASE_DATASET_UNKNOWN, `dataset ${String(d.dataset)} is not in the catalogue`);
      continue;
    }
    if (seen.has(d.dataset))
      bad(RELEASE_ERRORS.RELEASE_DATASET_DUPLICATE, `dataset ${d.dataset} listed twice`);
    seen.add(d.dataset);
    if (spec.tier !== 'aggregate' && (!Array.isArray(d.fields) || d.fields.length === 0))
      bad(RELEASE_ERRORS.RELEASE_NO_FIELDS, `dataset ${d.dataset} has no fields`);
    for (const f of d.fields ?? [])
      if (!fields.includes(f))
        bad(
          RELEASE_ERRORS.RELEASE_FIELD_NOT_IN_CATALOGUE,
          `field ${String(f).slice(0, 40)} is not in the ${d.dataset} catalogue`,
        );
  }
  if (spec.tier === 'aggregate') {
    for (const dim of spec.aggregation?.dimensions ?? [])
      if (!(AGGREGATE_DIMENSIONS as readonly string[]).includes(dim))
        bad(
          RELEASE_ERRORS.RELEASE_DIMENSION_UNKNOWN,
          `unknown aggregate dimension ${String(dim).slice(0, 40)}`,
        );
  } else if (spec.aggregation)
    bad(RELEASE_ERRORS.RELEASE_AGGREGATION_NOT_ALLOWED, 'aggregation is only for the aggregate tier');
  const c = spec.cohort ?? {};
  for (const k of ['eventsFrom', 'eventsTo'] as const)
    if (c[k] !== undefined && !ISO_DATE.test(c[k]!))
      bad(RELEASE_ERRORS.RELEASE_COHORT_INVALID, `${k} must be YYYY-MM-DD`);
  for (const k of ['ageMin', 'ageMax'] as const)
    if (c[k] !== undefined && !(Number.isInteger(c[k]) && c[k]! >= 0 && c[k]! <= 130))
      bad(RELEASE_ERRORS.RELEASE_COHORT_INVALID, `${k} must be an integer age`);
  for (const k of ['practices', 'postcodeAreas', 'conditionCodes'] as const)
    if (c[k] !== undefined && !(Array.isArray(c[k]) && c[k]!.every((v) => typeof v === 'string')))
      bad(RELEASE_ERRORS.RELEASE_COHORT_INVALID, `${k} must be a list of strings`);
  if (!Array.isArray(spec.recipients) || spec.recipients.length === 0)
    bad(RELEASE_ERRORS.RELEASE_NO_RECIPIENTS, 'at least one recipient is required');
  return out;
}

/** Objection handling for a spec (SPEC §5 step 2), as the manifest and the register state it. */
export function objectionPolicy(spec: Pick<ReleaseSpec, 'tier' | 'legalBasis'>): {
  applied: boolean;
  /** Active Type 2 objectors are left out. */
  excludeType2: boolean;
  /** Type 1 objectors are left out (every record-level release, whatever the legal basis). */
  excludeType1: boolean;
  /** Only the bid's consent cohort. */
  consentOnly: boolean;
  reason: string;
} {
  // SPEC §5 step 2: Type 1 objectors' hospital and social-care rows are counted nowhere, and a
  // consent cohort never applies at the aggregate tier (consent is for record-level data).
  if (spec.tier === 'aggregate')
    return {
      applied: false,
      excludeType2: false,
      excludeType1: true,
      consentOnly: false,
      reason:
        'aggregate tier: anonymous counts of every patient except Type 1 objectors, after disclosure control',
    };
  if (spec.legalBasis === 'public_health_emergency' || spec.legalBasis === 'statutory')
    return {
      applied: false,
      excludeType2: false,
      excludeType1: true,
      consentOnly: false,
      reason:
        spec.legalBasis === 'statutory'
          ? 'statutory legal basis: Type 2 objections not applied'
          : 'public health emergency (civil emergency notice): Type 2 objections not applied',
    };
  if (spec.legalBasis === 'consent')
    return {
      applied: false,
      excludeType2: false,
      excludeType1: true,
      consentOnly: true,
      reason: 'consent: only the consenting cohort, whose consent overrides a Type 2 objection',
    };
  return {
    applied: true,
    excludeType2: true,
    excludeType1: true,
    consentOnly: false,
    reason: 'Type 2 objections applied',
  };
}
