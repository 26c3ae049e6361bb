import path from 'node:path';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { AppConfig } from '@custodian/core';
import { JobsService } from '@custodian/database';
import type { NotificationsService } from '@custodian/notifications';
import { RegisterLogService, RegisterService } from '@custodian/register';
import { ReleaseKeys } from '../keys';
import { LatticeNode } from '../k-anonymity';
import { EventRange, NO_GENERALISATION, QuasiIdentifiers } from '../release-sql';
import { WrittenFile } from '../release-files';
import { RELEASE_FAILURES } from '../release.errors';
import { ReleaseSpec } from '../release.types';

/**
 * What every stage of the release engine shares: the services the coordinator was built with,
 * the claimed release, and the helpers that name its working tables, directories and snapshot.
 */
export interface EngineContext {
  db: DataSource;
  config: AppConfig;
  keys: ReleaseKeys;
  audit: AuditService;
  jobs: JobsService;
  register: RegisterService;
  registerLog: RegisterLogService;
  notifications: NotificationsService;
}

/** A statement of the preparation's transaction (timed: see `prepareOnSnapshot`). */
export type Query = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

export const SOFTWARE_VERSION = process.env.npm_package_version ?? '0.1.0';
/** Dates and times as every file writes them, for the rest of the transaction (one statement). */
export const OUTPUT_FORMAT = `SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL TimeZone = 'UTC'`;
/** Unexpected errors are retried by the queue; after this many attempts the release is failed. */
export const MAX_ATTEMPTS = 4;
/**
 * Attempts that never returned — each one's worker died under it (out of memory, killed) and
 * recoverOrphans queued the release again — are not seen by the failure handling: a release that
 * takes its worker down every time was tried for ever. The attempt after this many fails it. Above
 * twenty: issue 8 asks that twenty SIGKILLs of the worker during one release still end in it completed.
 */
export const MAX_ORPHANED_ATTEMPTS = 25;

/**
 * A release that cannot be produced as approved (deterministic: retrying would not help). `message`
 * is what the bid's recipients may read (counts of persons by the aggregate rule); `exact`, where
 * given, the same with exact figures, for staff only.
 */
export class ReleaseFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exact?: string,
  ) {
    super(message);
  }
}

export interface ClaimedRelease {
  id: string;
  bid_id: string;
  spec: ReleaseSpec;
  /** The attempt's instant (set when its snapshot is taken); `snapshotCut` is its exact text, microseconds kept. */
  snapshot_at: Date;
  snapshotCut: string;
  token_seed_enc: Buffer;
  attempts: number;
  /** The disk space the build was estimated to need (set once the rows are estimated). */
  bytesNeeded?: number;
  /**
   * The coordinator's connection: it holds the release's advisory lock and the exported snapshot.
   * Once it is gone (the server restarted, the session was terminated), another worker may take
   * the release over, and this attempt must end (`stillCoordinating`).
   */
  holder?: PoolClient;
  /** Where the attempt is, and since when (for the orphan check's log: `ReleaseJobs`). */
  stage?: { name: string; since: number };
}

/** Records the attempt's stage (see `ClaimedRelease.stage`). */
export function enterStage(rel: ClaimedRelease, name: string): void {
  rel.stage = { name, since: Date.now() };
}

/**
 * Between waits for shards other workers hold: the attempt ends (the queue retries it) once its
 * holder connection is gone — its lock and snapshot went with it, and recoverOrphans may already
 * have queued the release again — and fails once the release is no longer running. A coordinator
 * whose holder died in a database restart waited here for ever without either check (the worker's
 * only `release.run` slot held, so the release stayed `running`: CI, 2026-12-07).
 */
export async function stillCoordinating(db: DataSource, rel: ClaimedRelease): Promise<void> {
  await rel.holder?.query('SELECT 1');
  const [still] = await db.query(`SELECT state FROM releases WHERE id = $1`, [rel.id]);
  if (still?.state !== 'running')
    throw new ReleaseFailure(RELEASE_FAILURES.RELEASE_STATE_CHANGED, 'release is no longer running');
}

export interface BuiltFile extends WrittenFile {
  name: string;
}

/** The release's directory under DATA_DIR. */
export function releaseDir(config: AppConfig, releaseId: string): string {
  return path.join(config.dataDir, releaseId);
}

/** A pooled connection's pg client for `fn`, released afterwards. */
export async function withClient<T>(db: DataSource, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const qr = db.createQueryRunner();
  await qr.connect();
  try {
    return await fn((qr as unknown as { databaseConnection: PoolClient }).databaseConnection);
  } finally {
    await qr.release();
  }
}

/** The cohort's event date range. */
export function rangeOf(spec: ReleaseSpec): EventRange {
  return { from: spec.cohort.eventsFrom, to: spec.cohort.eventsTo };
}

/** Whether any file of the release carries the field. */
function wantsOf(spec: ReleaseSpec): (f: string) => boolean {
  return (f) => spec.datasets.some((d) => d.fields.includes(f));
}

/** The quasi-identifiers the files carry (what the anonymised tier's k-anonymity counts). */
export function quasiIdentifiersOf(spec: ReleaseSpec): QuasiIdentifiers {
  const wants = wantsOf(spec);
  return {
    age: wants('date_of_birth'),
    sex: wants('sex'),
    ethnicity: wants('ethnicity'),
    area: wants('postcode'),
  };
}

export function quasiIdentifierNames(qi: QuasiIdentifiers): string[] {
  return (['age', 'sex', 'ethnicity', 'area'] as const).filter((n) => qi[n]);
}

/**
 * The generalisation levels the preparation chose, for the shards. An anonymised release without
 * them is refused rather than written at the finest levels.
 */
export function levelsOf(spec: ReleaseSpec, work: { levels?: LatticeNode }): LatticeNode {
  if (work.levels) return work.levels;
  if (spec.tier === 'anonymised') throw new Error('the working set has no generalisation levels');
  return NO_GENERALISATION;
}

/** The release's working tables in `release_work` (names from the release id, a UUID). */
export interface WorkTables {
  rp: string;
  blocked: string;
  /** The shards' risk partials (risk-report.ts), record-level releases only. */
  risk: string;
}

export function workTables(releaseId: string): WorkTables {
  const hex = releaseId.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error('release id is not a UUID');
  return {
    rp: `release_work.r${hex}_persons`,
    blocked: `release_work.r${hex}_blocked`,
    risk: `release_work.r${hex}_risk`,
  };
}

export async function dropWork(db: DataSource, work: WorkTables): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS ${work.rp}, ${work.blocked}, ${work.risk}`);
}

export const buildDir = (build: number) => `.build-${build}`;
/** A shard's file, named by the claim that wrote it (a stalled claimant's file is never assembled). */
export const shardFile = (dataset: string, shard: number, claim: number) =>
  `${dataset}.${String(shard).padStart(4, '0')}.${claim}.csv.gz`;

/** Exported snapshot ids are hex groups and dashes; they go into SET TRANSACTION SNAPSHOT as text. */
export function checkSnapshotId(id: string): string {
  if (!/^[0-9A-F-]{1,64}$/.test(id)) throw new Error('unexpected snapshot id');
  return id;
}
