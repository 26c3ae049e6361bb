import type { Tier } from '@custodian/catalog';

export const LEGAL_BASES = ['consent', 's251', 'public_health_emergency', 'statutory', 'none'] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

/** Legal bases that allow each tier (SPEC §4): identifiable needs a basis; `none` only below pseudonymised. */
export const BASES_BY_TIER: Record<Tier, readonly LegalBasis[]> = {
  identifiable: ['consent', 's251', 'public_health_emergency', 'statutory'],
  pseudonymised: ['consent', 's251', 'public_health_emergency', 'statutory'],
  anonymised: ['consent', 's251', 'public_health_emergency', 'statutory', 'none'],
  aggregate: ['consent', 's251', 'public_health_emergency', 'statutory', 'none'],
};

/** Bases that must cite their instrument (the s251 approval, the civil emergency notice). */
export const BASES_NEEDING_REFERENCE: readonly LegalBasis[] = ['s251', 'public_health_emergency'];

/** Maximum agreement term by organisation kind, in months (SPEC §4). The one place these live. */
export const MAX_DURATION_MONTHS = { commercial: 12, default: 36 } as const;
export const maxDurationMonths = (organisationKind: string): number =>
  organisationKind === 'commercial' ? MAX_DURATION_MONTHS.commercial : MAX_DURATION_MONTHS.default;

export interface ObjectionHandling {
  applied: boolean;
  note: string;
}

/**
 * How type 2 objections apply to a release under this legal basis and tier (SPEC §5 step 2), in
 * words fit for the public register.
 */
export function objectionHandling(legalBasis: LegalBasis, tier: Tier): ObjectionHandling {
  if (legalBasis === 'public_health_emergency')
    return {
      applied: false,
      note: 'Type 2 objections not applied: released under a civil emergency (public health emergency) notice; Type 1 objectors excluded',
    };
  if (legalBasis === 'statutory')
    return {
      applied: false,
      note: 'Type 2 objections not applied: release required by statute; Type 1 objectors excluded',
    };
  if (tier === 'aggregate')
    return {
      applied: false,
      note: 'Type 2 objections not applied: aggregate counts after disclosure control identify no one; Type 1 objectors counted nowhere',
    };
  // Consent overrides a Type 2 objection within the consenting cohort: not applied, as the release
  // engine's policy says (the register's decision line said true, its release line false: a probe).
  if (legalBasis === 'consent')
    return {
      applied: false,
      note: 'Consent: limited to the consenting cohort, whose consent overrides a type 2 objection; Type 1 objectors excluded',
    };
  return {
    applied: true,
    note: 'Type 2 objections applied: objecting patients excluded; Type 1 objectors excluded',
  };
}
