import type { Tier } from '@custodian/catalog';
import type { Aggregation, AmendmentScope, Cohort, DatasetRequest } from './bid.entity';

/** What an amendment may change (#25): the rest of a bid (title, purpose, legal basis, tier) is fixed. */
export interface AmendableContent {
  datasets: DatasetRequest[];
  cohort: Cohort;
  aggregation: Aggregation | null;
  durationMonths: number;
  recipients: string[];
}

/** Whether a changed field gives the applicant less than the version in force, or anything else. */
export type DiffEffect = 'narrows' | 'widens';

/** One changed field: its value in force and proposed, in words (null: absent, i.e. not requested / no restriction). */
export interface DiffEntry {
  field: string;
  inForce: string | null;
  proposed: string | null;
  effect: DiffEffect;
}

export interface AmendmentDiff {
  /** The changed fields, in a fixed order (datasets, cohort keys, aggregation, duration, recipients). */
  entries: DiffEntry[];
  /** `narrowing` only when every entry narrows; null when nothing changed. */
  scope: AmendmentScope | null;
}

/**
 * Tiers whose data an amendment may narrow by giving fewer fields or a smaller cohort: the
 * record-level tiers whose rows keep a stable person key, so a narrower version releases a subset
 * of what the version in force already releases. At the anonymised and aggregate tiers two
 * releases of differently generalised or differently counted populations can be set against each
 * other (differencing, composition of k-anonymous files): any change of content there goes to the
 * panel (fail closed).
 */
const SUBSET_TIERS: readonly Tier[] = ['identifiable', 'pseudonymised'];

const LIST_KEYS = ['practices', 'postcodeAreas', 'conditionCodes'] as const;
const LOWER_BOUNDS = ['eventsFrom', 'ageMin'] as const;
const UPPER_BOUNDS = ['eventsTo', 'ageMax'] as const;

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
};
const subsetOf = (a: readonly string[], b: readonly string[]) => {
  const y = new Set(b);
  return a.every((v) => y.has(v));
};
const words = (v: readonly string[] | string | number | undefined | null): string | null =>
  v === undefined || v === null ? null : Array.isArray(v) ? [...v].join(', ') : String(v);

/**
 * The field-by-field difference between the version in force and a proposed amendment, and
 * whether it only narrows (a release officer may approve it alone) or widens (the panel decides).
 * Pure; fail closed: a change it cannot show to be narrower is widening — a new dataset or field,
 * a cohort key removed or loosened on any bound, an empty list (ambiguous), a longer term, a new
 * recipient, and any change of data at the anonymised and aggregate tiers.
 */
export function amendmentDiff(
  inForce: AmendableContent,
  proposed: AmendableContent,
  tier: Tier,
): AmendmentDiff {
  const entries: DiffEntry[] = [];
  const subsetTier = SUBSET_TIERS.includes(tier);
  const push = (field: string, a: DiffEntry['inForce'], b: DiffEntry['proposed'], narrows: boolean) =>
    entries.push({ field, inForce: a, proposed: b, effect: narrows ? 'narrows' : 'widens' });

  // Datasets and their fields, in the order of the version in force, then the new ones.
  const fieldsOf = (c: AmendableContent, d: string) => c.datasets.find((x) => x.dataset === d)?.fields;
  const names = [...new Set([...inForce.datasets, ...proposed.datasets].map((d) => d.dataset))];
  for (const d of names) {
    const a = fieldsOf(inForce, d);
    const b = fieldsOf(proposed, d);
    if (a && b && sameSet(a, b)) continue;
    const narrows = subsetTier && a !== undefined && (b === undefined || (b.length > 0 && subsetOf(b, a)));
    push(`datasets.${d}`, words(a), words(b), narrows);
  }

  // The cohort, key by key: absent = no restriction.
  const ca = inForce.cohort ?? {};
  const cb = proposed.cohort ?? {};
  for (const k of LIST_KEYS) {
    const a = ca[k];
    const b = cb[k];
    if (a === undefined && b === undefined) continue;
    if (a !== undefined && b !== undefined && sameSet(a, b)) continue;
    const narrows = subsetTier && b !== undefined && b.length > 0 && (a === undefined || subsetOf(b, a));
    push(`cohort.${k}`, words(a), words(b), narrows);
  }
  for (const k of [...LOWER_BOUNDS, ...UPPER_BOUNDS]) {
    const a = ca[k];
    const b = cb[k];
    if (a === b) continue;
    const lower = (LOWER_BOUNDS as readonly string[]).includes(k);
    const tighter =
      b !== undefined &&
      (a === undefined || (lower ? (b as string | number) >= a : (b as string | number) <= a));
    push(`cohort.${k}`, words(a), words(b), subsetTier && tighter);
  }

  const da = inForce.aggregation?.dimensions;
  const db = proposed.aggregation?.dimensions;
  if (!(da === undefined && db === undefined) && !(da && db && sameSet(da, db)))
    push('aggregation.dimensions', words(da), words(db), false);

  if (inForce.durationMonths !== proposed.durationMonths)
    push(
      'durationMonths',
      words(inForce.durationMonths),
      words(proposed.durationMonths),
      proposed.durationMonths < inForce.durationMonths,
    );

  if (!sameSet(inForce.recipients, proposed.recipients))
    push(
      'recipients',
      words(inForce.recipients),
      words(proposed.recipients),
      proposed.recipients.length > 0 && subsetOf(proposed.recipients, inForce.recipients),
    );

  const scope: AmendmentScope | null = !entries.length
    ? null
    : entries.every((e) => e.effect === 'narrows')
      ? 'narrowing'
      : 'widening';
  return { entries, scope };
}
