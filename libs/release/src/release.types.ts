import type { AggregateDimension, Dataset } from './catalogue';

export type Tier = 'identifiable' | 'pseudonymised' | 'anonymised' | 'aggregate';
export type LegalBasis = 'consent' | 's251' | 'public_health_emergency' | 'statutory' | 'none';
export type ReleaseState = 'queued' | 'running' | 'completed' | 'failed';

/** What the panel approved, as the release engine consumes it (the governance module builds it). */
export interface ReleaseSpec {
  bidId: string;
  organisationId: string;
  agreementReference: string;
  tier: Tier;
  legalBasis: LegalBasis;
  datasets: { dataset: Dataset; fields: string[] }[];
  cohort: {
    practices?: string[];
    postcodeAreas?: string[];
    conditionCodes?: string[];
    eventsFrom?: string;
    eventsTo?: string;
    ageMin?: number;
    ageMax?: number;
  };
  aggregation?: { dimensions: AggregateDimension[] };
  /** Legal basis consent: only NHS numbers in bid_cohort_members(bid_id) (always true for consent). */
  consentCohort?: boolean;
  /** User ids allowed to download. */
  recipients: string[];
  /** The release officer's user id. */
  requestedBy: string;
}

export interface ReleaseFileInfo {
  name: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface ReleaseView {
  id: string;
  bidId: string;
  state: ReleaseState;
  /** Rows, not persons. Recipients of an anonymised release not yet completed see `rowsEstimated: 0`. */
  progress: { rowsDone: number; rowsEstimated: number };
  tier: Tier;
  files: ReleaseFileInfo[];
  /** Recipients: counts of persons by the aggregate rule (1–7 "fewer than 8", else rounded to 5); staff: exact. */
  failureReason?: string;
  /** Staff only (release officer, admin, auditor): exact counts of what was left out, and why. */
  excluded?: Record<string, unknown>;
  manifest?: Record<string, unknown>;
  /** The risk and linkage report (#24): exact for staff, by the small-number rule for recipients. */
  riskReport?: Record<string, unknown>;
}

export const RELEASE_RUN_QUEUE = 'release.run';
export const RELEASE_DESTROY_QUEUE = 'release.destroy';
/** Wakes a worker to build shards of a running release (any worker process may help). */
export const RELEASE_SHARD_QUEUE = 'release.shard';

/** The row that queues a release (the engine takes it up from `release.run`); the benchmarks write it too. */
export const queuedReleaseRow = (
  id: string,
  spec: ReleaseSpec,
  requestedBy: string,
  tokenSeed: Buffer,
): [string, unknown[]] => [
  `INSERT INTO releases (id, bid_id, tier, legal_basis, spec, requested_by, token_seed_enc)
   VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  [id, spec.bidId, spec.tier, spec.legalBasis, JSON.stringify(spec), requestedBy, tokenSeed],
];
