/** Tiers, most to least identifying (SPEC §4). */
export const TIERS = ['identifiable', 'pseudonymised', 'anonymised', 'aggregate'] as const;
export type Tier = (typeof TIERS)[number];

export const FIELD_CLASSIFICATIONS = [
  'direct_identifier',
  'quasi_identifier',
  'clinical',
  'administrative',
] as const;
export type FieldClassification = (typeof FIELD_CLASSIFICATIONS)[number];

/** Higher is more identifying. */
export const tierRank = (tier: Tier): number => TIERS.length - TIERS.indexOf(tier);

/** The least identifying of the given tiers. */
export function leastIdentifying(tiers: Tier[]): Tier {
  if (!tiers.length) throw new Error('leastIdentifying needs at least one tier');
  return tiers.reduce((a, b) => (tierRank(b) < tierRank(a) ? b : a));
}

/**
 * The identifier columns of SPEC §5 step 6: what a requested field becomes in the output of each
 * tier. Fields not listed keep their name (their values may still be generalised, e.g. event dates
 * to year and month at the anonymised tier). The aggregate tier has no record-level columns.
 */
export const IDENTIFIER_COLUMNS: Record<Exclude<Tier, 'aggregate'>, Record<string, string>> = {
  identifiable: { nhs_number: 'nhs_number', date_of_birth: 'date_of_birth', postcode: 'postcode' },
  pseudonymised: {
    nhs_number: 'pseudo_id',
    date_of_birth: 'birth_year_month',
    postcode: 'postcode_district',
  },
  anonymised: { nhs_number: 'person_token', date_of_birth: 'age_band', postcode: 'area' },
};

/** The output columns a tier produces for a requested field list, in request order. */
export function tierColumns(tier: Tier, fields: readonly string[]): string[] {
  if (tier === 'aggregate') return [];
  const map = IDENTIFIER_COLUMNS[tier];
  return fields.map((f) => map[f] ?? f);
}
