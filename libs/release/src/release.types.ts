import type { Cohort, LegalBasis } from '@custodian/bids';
import type { AggregateDimension, Dataset, Tier } from '@custodian/catalog';

export type ReleaseState = 'queued' | 'running' | 'completed' | 'failed';

/** What the panel approved, as the release engine consumes it (the governance module builds it). */
export interface ReleaseSpec {
  bidId: string;
  organisationId: string;
  agreementReference: string;
  /**
   * The agreement version the release runs under (#25: an amended bid's releases follow the version
   * in force). Absent on specs written before amendments (version 1).
   */
  agreementVersion?: number;
  tier: Tier;
  legalBasis: LegalBasis;
  datasets: { dataset: Dataset; fields: string[] }[];
  cohort: Cohort;
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

export const RELEASE_PHASES = ['queued', 'preparing', 'writing', 'verifying', 'completed', 'failed'] as const;
export type ReleasePhase = (typeof RELEASE_PHASES)[number];

/**
 * A release's phase: queued; preparing (cohort, objections, identifiers: nothing counted yet);
 * writing (rows written of those expected); verifying (every row written, the independent check
 * and publication to come); then completed or failed. Where the estimate is hidden from the viewer
 * (`null`), the phase is told from the rows written alone: an aggregate release's estimate is its
 * cohort's exact source rows, so "writing" against "preparing" told a recipient whether the cohort
 * held anyone, and an anonymised one's "verifying" whether k-anonymity suppressed nobody (a review).
 */
export function releasePhase(
  state: ReleaseState,
  rowsDone: number,
  rowsEstimated: number | null,
): ReleasePhase {
  if (state === 'queued' || state === 'completed' || state === 'failed') return state;
  if (rowsEstimated === null) return rowsDone > 0 ? 'writing' : 'preparing';
  if (rowsEstimated === 0 && rowsDone === 0) return 'preparing';
  return rowsDone < rowsEstimated ? 'writing' : 'verifying';
}

export interface ReleaseView {
  id: string;
  bidId: string;
  state: ReleaseState;
  /**
   * Rows, not persons. Recipients of an aggregate release, and of an anonymised release not yet
   * completed, see `rowsEstimated: null` (not shown).
   */
  progress: { rowsDone: number; rowsEstimated: number | null };
  /** Where a release has got to, for the people watching it (derived from its state and progress). */
  phase: ReleasePhase;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  tier: Tier;
  files: ReleaseFileInfo[];
  /** Whether its files may be downloaded (false once its agreement ended: revoked, expired, closed). */
  downloadable: boolean;
  /** When its files were deleted (the agreement ended), or null. The file list stays, as a record. */
  destroyedAt: Date | null;
  /** Recipients: counts of persons by the aggregate rule (1–7 "fewer than 8", else rounded to 5); staff: exact. */
  failureReason?: string;
  /** Release officers and auditors only: exact counts of what was left out, and why. */
  excluded?: Record<string, unknown>;
  manifest?: Record<string, unknown>;
  /** The risk and linkage report (#24): exact for staff, by the small-number rule for recipients. */
  riskReport?: Record<string, unknown>;
}

export const RELEASE_RUN_QUEUE = 'release.run';
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
