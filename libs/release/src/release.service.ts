import { randomUUID } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  APP_CONFIG,
  AppConfig,
  ConflictError,
  NotFoundError,
  Principal,
  RequestMeta,
  ValidationError,
} from '@custodian/core';
import { JobsService } from '@custodian/database';
import { DOWNLOADABLE_RELEASES_SQL, DownloadGuard } from './download-guard';
import { ReleaseKeys } from './keys';
import { ReleaseEngine } from './release.engine';
import { specProblems } from './release-spec';
import {
  RELEASE_DESTROY_QUEUE,
  RELEASE_RUN_QUEUE,
  RELEASE_SHARD_QUEUE,
  ReleaseFileInfo,
  queuedReleaseRow,
  ReleaseSpec,
  ReleaseState,
  ReleaseView,
  Tier,
} from './release.types';
import { publicRiskReport, type RiskReport } from './risk-report';

const STAFF = ['release_officer', 'admin', 'auditor'] as const;
const isStaff = (p: Pick<Principal, 'roles'>) =>
  p.roles.some((r) => (STAFF as readonly string[]).includes(r));

interface ReleaseRow {
  id: string;
  bid_id: string;
  state: ReleaseState;
  tier: Tier;
  spec: ReleaseSpec;
  rows_done: string;
  rows_estimated: string;
  excluded: Record<string, unknown>;
  failure_reason: string | null;
  manifest: Record<string, unknown> | null;
  downloadable: boolean;
  destroyed_at: Date | null;
  risk_report: RiskReport | null;
}

export interface OpenedFile {
  bidId: string;
  path: string;
  name: string;
  size: number;
  sha256: string;
}

/**
 * Releases: request (a row and a queued job), read (officer and recipients; exact exclusion
 * counts for staff only), download (recipients, while downloadable), destruction (the
 * `release.destroy` job the governance module sends on expiry or revocation).
 */
@Injectable()
export class ReleaseService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ReleaseService');
  private orphanTimer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobsService,
    private readonly audit: AuditService,
    private readonly keys: ReleaseKeys,
    private readonly engine: ReleaseEngine,
    private readonly downloads: DownloadGuard,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work<{ releaseId: string }>(
      RELEASE_RUN_QUEUE,
      (data) => this.engine.run(data.releaseId),
      {
        retryLimit: 5,
        expireInSeconds: 4 * 3600,
      },
    );
    // Any worker process helps build the shards of a running release.
    await this.jobs.work<{ releaseId: string; build: number }>(
      RELEASE_SHARD_QUEUE,
      async (data) => {
        await this.engine.helpShards(data.releaseId, data.build);
      },
      { retryLimit: 2, expireInSeconds: 4 * 3600 },
    );
    await this.jobs.work<{ bidId: string; reason: string }>(RELEASE_DESTROY_QUEUE, (data) =>
      this.destroy(data.bidId, data.reason),
    );
    if (!this.config.runWorker) return;
    await this.recoverOrphans();
    // And every so often while the worker lives: a release whose builder died under another live
    // worker was `running` until some worker started (or its job expired, hours later).
    const every = this.config.releaseOrphanCheckSeconds * 1000;
    this.orphanTimer = setInterval(() => {
      this.recoverOrphans().catch((err) =>
        this.logger.warn(
          { err: { code: (err as { code?: string })?.code } },
          'orphaned release check failed',
        ),
      );
    }, every);
    this.orphanTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.orphanTimer);
  }

  /**
   * A worker killed mid-release leaves its release `running` and its queue job active until the
   * job expires. At worker start, and every RELEASE_ORPHAN_CHECK_SECONDS after, every `running`
   * release that no live worker is building (its advisory lock is free) is queued again; the engine
   * starts it afresh, with a new snapshot.
   */
  async recoverOrphans(): Promise<number> {
    const rows: { id: string }[] = await this.db.query(`SELECT id FROM releases WHERE state = 'running'`);
    let requeued = 0;
    for (const { id } of rows) {
      const free = await this.db.transaction(async (tx) => {
        const [{ ok }] = await tx.query(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok`, [
          `release:${id}`,
        ]);
        return ok as boolean;
      });
      if (!free) continue;
      // No singleton throttle: a slot's key outlives the job (pg-boss 10 keeps it on completed and
      // failed jobs), so a release whose recovered builder died again in the same period was
      // never queued again. A duplicate finds the release locked, or done, and changes nothing.
      await this.jobs.send(RELEASE_RUN_QUEUE, { releaseId: id });
      requeued++;
    }
    if (requeued) this.logger.warn({ requeued }, 'orphaned releases queued again');
    return requeued;
  }

  /** Queues a release of what `spec` describes (the caller has checked the bid and the officer). */
  async request(
    spec: ReleaseSpec,
    actor: Pick<Principal, 'id' | 'roles'>,
    meta?: Partial<RequestMeta>,
    /** Runs first in the same transaction (locks and checks that must hold when the row is written). */
    guard?: (tx: EntityManager) => Promise<void>,
  ): Promise<{ id: string; state: ReleaseState }> {
    const problems = specProblems(spec);
    if (problems.length) throw new ValidationError(problems[0].message, problems[0].code);
    const id = randomUUID();
    await this.db.transaction(async (tx) => {
      await guard?.(tx);
      await tx.query(...queuedReleaseRow(id, spec, actor.id, this.keys.newTokenSeed(id)));
      // Enqueued in this transaction: the release row and its job exist together or not at all.
      await this.jobs.sendInTransaction(tx, RELEASE_RUN_QUEUE, { releaseId: id }, { singletonKey: id });
      await this.audit.record(
        {
          action: 'release.requested',
          actor,
          bidId: spec.bidId,
          subjectType: 'Release',
          subjectId: id,
          meta,
          details: {
            tier: spec.tier,
            legalBasis: spec.legalBasis,
            datasets: spec.datasets.map((d) => d.dataset),
            agreementReference: spec.agreementReference,
          },
        },
        tx,
      );
    });
    return { id, state: 'queued' };
  }

  private async load(id: string): Promise<ReleaseRow | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const [row] = await this.db.query(`SELECT * FROM releases WHERE id = $1`, [id]);
    return row;
  }

  /**
   * Staff see every release; anyone else only as a named recipient who is, now (read from the
   * database, not from a cached principal), an active researcher of the bid's organisation. A
   * recipient moved to another organisation, disabled, or no longer a researcher sees nothing.
   */
  private async visible(row: ReleaseRow | undefined, principal: Principal): Promise<boolean> {
    return !!row && (isStaff(principal) || (await this.currentRecipient(row, principal)));
  }

  private async currentRecipient(row: ReleaseRow, principal: Principal): Promise<boolean> {
    if (!row.spec.recipients.includes(principal.id)) return false;
    const [current] = await this.db.query(
      `SELECT 1 FROM users u JOIN bids b ON b.organisation_id = u.organisation_id
        WHERE u.id = $1 AND b.id = $2 AND NOT u.disabled AND 'researcher' = ANY(u.roles)`,
      [principal.id, row.bid_id],
    );
    return !!current;
  }

  async get(id: string, principal: Principal): Promise<ReleaseView> {
    const row = await this.load(id);
    if (!row || !(await this.visible(row, principal))) throw new NotFoundError('Release');
    const files: ReleaseFileInfo[] =
      row.state === 'completed'
        ? (
            await this.db.query(
              `SELECT name, rows::bigint AS rows, bytes::bigint AS bytes, sha256 FROM release_files WHERE release_id = $1 ORDER BY name`,
              [id],
            )
          ).map((f: { name: string; rows: string; bytes: string; sha256: string }) => ({
            name: f.name,
            rows: Number(f.rows),
            bytes: Number(f.bytes),
            sha256: f.sha256,
          }))
        : [];
    // An anonymised release's estimate is taken before k-anonymity's suppression: until the rows
    // are final, estimate minus rows written would count the persons suppressed. Recipients see 0
    // (not known yet) until then; staff see it.
    const estimateHidden = row.tier === 'anonymised' && row.state !== 'completed' && !isStaff(principal);
    const view: ReleaseView = {
      id: row.id,
      bidId: row.bid_id,
      state: row.state,
      progress: {
        rowsDone: Number(row.rows_done),
        rowsEstimated: estimateHidden ? 0 : Number(row.rows_estimated),
      },
      tier: row.tier,
      files,
    };
    // Recipients read counts of persons by the aggregate rule (the stored reason); staff read exact
    // figures (the exact reason is kept with the other exact counts, in `excluded`).
    if (row.failure_reason) view.failureReason = row.failure_reason;
    if (isStaff(principal)) {
      view.excluded = row.excluded;
      const exact = (row.excluded?.failure as { reason?: string } | undefined)?.reason;
      if (exact) view.failureReason = exact;
      if (row.manifest) view.manifest = row.manifest;
    }
    if (row.risk_report)
      view.riskReport = (isStaff(principal)
        ? row.risk_report
        : publicRiskReport(row.risk_report)) as unknown as Record<string, unknown>;
    return view;
  }

  /** A file of a completed, downloadable release, for one of its recipients (audited). */
  async openFile(
    id: string,
    name: string,
    principal: Principal,
    meta: Partial<RequestMeta>,
    range?: string,
  ): Promise<OpenedFile> {
    const row = await this.load(id);
    if (!row || !(await this.currentRecipient(row, principal))) throw new NotFoundError('Release');
    if (row.state !== 'completed')
      throw new ConflictError('RELEASE_NOT_COMPLETED', 'The release is not complete');
    if (!row.downloadable || row.destroyed_at)
      throw new ConflictError('RELEASE_NOT_DOWNLOADABLE', 'The release is no longer available for download');
    // Downloads stop the moment the agreement is no longer in force, before any destruction job runs
    // (and, once streaming, DownloadGuard keeps checking).
    const [inForce] = await this.db.query(DOWNLOADABLE_RELEASES_SQL, [[id]]);
    if (!inForce)
      throw new ConflictError('AGREEMENT_NOT_IN_FORCE', 'The data sharing agreement is no longer in force');
    const [file] = await this.db.query(
      `SELECT name, bytes::bigint AS bytes, sha256 FROM release_files WHERE release_id = $1 AND name = $2`,
      [id, name],
    );
    if (!file) throw new NotFoundError('File');
    const full = path.join(this.engine.dirOf(id), file.name);
    const size = await stat(full).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) throw new NotFoundError('File');
    await this.audit.record({
      action: 'release.downloaded',
      actor: principal,
      bidId: row.bid_id,
      subjectType: 'Release',
      subjectId: id,
      meta,
      details: { file: file.name, range: range?.slice(0, 60) ?? null },
    });
    return { bidId: row.bid_id, path: full, name: file.name, size, sha256: file.sha256 };
  }

  /**
   * Expiry or revocation of the bid's agreement: downloads stop at once (first statement), then
   * the files are deleted and each release gets a destruction record on the audit trail.
   */
  async destroy(bidId: string, reason: string): Promise<void> {
    const [stopped]: [{ id: string; state: ReleaseState }[], number] = await this.db.query(
      `UPDATE releases SET downloadable = false,
              state = CASE WHEN state = 'queued' THEN 'failed' ELSE state END,
              failure_reason = CASE WHEN state = 'queued' THEN 'RELEASE_DESTROYED: the agreement ended before the release ran' ELSE failure_reason END
        WHERE bid_id = $1 AND destroyed_at IS NULL RETURNING id, state`,
      [bidId],
    );
    // Streams already open in this process stop now (other processes hear of the agreement's end
    // from the change feed, or at their next check).
    this.downloads.closeBid(bidId);
    for (const r of stopped) {
      await rm(this.engine.dirOf(r.id), { recursive: true, force: true });
      await this.db.transaction(async (tx) => {
        await tx.query(
          `UPDATE releases SET destroyed_at = now(), destruction_reason = $2 WHERE id = $1 AND destroyed_at IS NULL`,
          [r.id, String(reason).slice(0, 200)],
        );
        // The register keeps the line and says the files were destroyed, and when.
        await tx.query(
          `UPDATE register_entries SET details = details || jsonb_build_object('destroyedAt', now(), 'destructionReason', $2::text)
            WHERE release_id = $1`,
          [r.id, String(reason).slice(0, 200)],
        );
        await this.audit.record(
          {
            action: 'release.destroyed',
            actor: null,
            bidId,
            subjectType: 'Release',
            subjectId: r.id,
            details: { reason: String(reason).slice(0, 200), state: r.state },
          },
          tx,
        );
      });
    }
    this.logger.log({ bidId, releases: stopped.length }, 'release files destroyed');
  }
}

/** One line per completed release, for the public register (the register module joins bid details). */
export interface ReleaseRegisterLine {
  releaseId: string;
  releasedAt: Date;
  bidId: string;
  tier: Tier;
  legalBasis: string;
  objectionsApplied: boolean;
  objectionsReason: string;
  agreementReference: string;
  datasets: string[];
  destroyedAt: Date | null;
}

/** SQL the register can UNION / join: the view `release_register_lines` (see the releases migration). */
export const RELEASE_REGISTER_VIEW = 'release_register_lines';

export async function releaseRegisterLines(
  db: Pick<DataSource, 'query'>,
  bidId?: string,
): Promise<ReleaseRegisterLine[]> {
  const rows = await db.query(
    `SELECT release_id, released_at, bid_id, tier, legal_basis, objections_applied, objections_reason,
            agreement_reference, datasets, destroyed_at
       FROM release_register_lines WHERE ($1::uuid IS NULL OR bid_id = $1) ORDER BY released_at`,
    [bidId ?? null],
  );
  return rows.map((r: Record<string, unknown>) => ({
    releaseId: r.release_id,
    releasedAt: r.released_at,
    bidId: r.bid_id,
    tier: r.tier,
    legalBasis: r.legal_basis,
    objectionsApplied: r.objections_applied === 'true',
    objectionsReason: r.objections_reason,
    agreementReference: r.agreement_reference,
    datasets: r.datasets,
    destroyedAt: r.destroyed_at,
  }));
}
