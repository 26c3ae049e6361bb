import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { ConflictError, NotFoundError, Principal, RequestMeta, ValidationError } from '@custodian/core';
import { bidOrganisationOf, isBidRecipient } from '@custodian/bids';
import type { Tier } from '@custodian/catalog';
import { JobsService } from '@custodian/database';
import { currentResearcherOf } from '@custodian/identity';
import { DOWNLOADABLE_RELEASES_SQL } from './download-guard';
import { parseRange } from './http-range';
import { ReleaseKeys } from './keys';
import { ReleaseEngine } from './engine/release.engine';
import { specProblems } from './release-spec';
import {
  RELEASE_RUN_QUEUE,
  ReleaseFileInfo,
  queuedReleaseRow,
  ReleaseSpec,
  ReleaseState,
  ReleaseView,
  releasePhase,
} from './release.types';
import { publicRiskReport, type RiskReport } from './risk-report';
import { RELEASE_ERRORS } from './release.errors';

const STAFF = ['release_officer', 'admin', 'auditor'] as const;
const isStaff = (p: Pick<Principal, 'roles'>) =>
  p.roles.some((r) => (STAFF as readonly string[]).includes(r));
/**
 * Who reads a release's exact figures (SPEC §5 step 4: "officers and auditors see exact figures").
 * An administrator sees every release, as the agreements they revoke need, but its counts of
 * persons as a recipient does: SPEC names no more roles, and in doubt the figures stay rounded.
 */
const EXACT = ['release_officer', 'auditor'] as const;
const readsExact = (p: Pick<Principal, 'roles'>) =>
  p.roles.some((r) => (EXACT as readonly string[]).includes(r));

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
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  risk_report: RiskReport | null;
}

export interface OpenedFile {
  bidId: string;
  path: string;
  name: string;
  size: number;
  sha256: string;
  /** The byte range to send (206), `unsatisfiable` (416), or undefined for the whole file. */
  range: ReturnType<typeof parseRange>;
  /** The client holds the file already (`If-None-Match`): 304, nothing sent. */
  notModified: boolean;
}

/** What the request asks of the file: its `Range` and `If-Range` headers, and whether it is a HEAD. */
export interface FileRequest {
  range?: string;
  ifRange?: string;
  /** `If-None-Match`: the client holds this file already when it names its entity tag (or `*`). */
  ifNoneMatch?: string;
  head?: boolean;
}

/**
 * Releases: request (a row and a queued job), read (officer and recipients; exact exclusion
 * counts for staff only), download (recipients, while downloadable). The queues are wired in
 * release-jobs.service.ts, destruction is release-destruction.service.ts.
 */
@Injectable()
export class ReleaseService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly jobs: JobsService,
    private readonly audit: AuditService,
    private readonly keys: ReleaseKeys,
    private readonly engine: ReleaseEngine,
  ) {}

  /**
   * Queues a release of what `spec` describes (the caller has checked the bid and the officer).
   * `spec` may be a function that builds it inside the transaction that writes the release (its
   * locks and checks then hold when the row is written): it is built, and checked, once.
   */
  async request(
    spec: ReleaseSpec | ((tx: EntityManager) => Promise<ReleaseSpec>),
    actor: Pick<Principal, 'id' | 'roles'>,
    meta?: Partial<RequestMeta>,
  ): Promise<{ id: string; state: ReleaseState }> {
    const id = randomUUID();
    await this.db.transaction(async (tx) => {
      const built = typeof spec === 'function' ? await spec(tx) : spec;
      const problems = specProblems(built);
      if (problems.length) throw new ValidationError(problems[0].code, problems[0].message);
      await tx.query(...queuedReleaseRow(id, built, actor.id, this.keys.newTokenSeed(id)));
      // Enqueued in this transaction: the release row and its job exist together or not at all.
      await this.jobs.sendInTransaction(tx, RELEASE_RUN_QUEUE, { releaseId: id }, { singletonKey: id });
      await this.audit.record(
        {
          action: 'release.requested',
          actor,
          bidId: built.bidId,
          subjectType: 'Release',
          subjectId: id,
          meta,
          details: {
            tier: built.tier,
            legalBasis: built.legalBasis,
            datasets: built.datasets.map((d) => d.dataset),
            agreementReference: built.agreementReference,
            ...(built.agreementVersion !== undefined ? { agreementVersion: built.agreementVersion } : {}),
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

  /**
   * Whether `principal` reads this release's exact figures: an officer or auditor who is not of the
   * applicant organisation. A member of it reads them as a recipient does, whatever other roles they
   * hold (SPEC §5 step 4; §1: nobody reviews a bid of their own organisation; `seesInternals` of the
   * bids). A researcher of the applicant who was also a release officer read how many objectors their
   * own release left out, exactly (probe 21).
   */
  private async readsExactOf(row: ReleaseRow, principal: Principal): Promise<boolean> {
    if (!readsExact(principal)) return false;
    if (!principal.organisationId) return true;
    const [{ own }]: { own: boolean }[] = await this.db.query(
      `SELECT coalesce((${bidOrganisationOf('$1::uuid')}) = $2::uuid, true) AS own`,
      [row.bid_id, principal.organisationId],
    );
    return !own;
  }

  private async currentRecipient(row: ReleaseRow, principal: Principal): Promise<boolean> {
    if (!row.spec.recipients.includes(principal.id)) return false;
    // And a recipient of the bid as it stands: one an amendment in force took off sees nothing
    // (probe 23: they kept downloading what was released before).
    const [current] = await this.db.query(
      `SELECT 1 WHERE ${currentResearcherOf('$1::uuid', bidOrganisationOf('$2::uuid'))}
          AND ${isBidRecipient('$1::uuid', '$2::uuid')}`,
      [principal.id, row.bid_id],
    );
    return !!current;
  }

  async get(id: string, principal: Principal): Promise<ReleaseView> {
    const row = await this.load(id);
    if (!row || !(await this.visible(row, principal)))
      throw new NotFoundError(RELEASE_ERRORS.NOT_FOUND, 'Release');
    const exact = await this.readsExactOf(row, principal);
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
    // are final, estimate minus rows written would count the persons suppressed. Recipients see null
    // (not shown; it was 0 beside rows written, a division by zero for a client: probe 17) until then; officers and auditors see it. An aggregate release's estimate is its cohort's
    // source rows, exact: a small cohort's (refused as too small, or not) told a recipient whether
    // 1-7 people have a condition (an outsider's probe, 2026-12-06). Recipients never see it.
    const estimateHidden =
      !exact && (row.tier === 'aggregate' || (row.tier === 'anonymised' && row.state !== 'completed'));
    const view: ReleaseView = {
      id: row.id,
      bidId: row.bid_id,
      state: row.state,
      progress: {
        rowsDone: Number(row.rows_done),
        rowsEstimated: estimateHidden ? null : Number(row.rows_estimated),
      },
      phase: releasePhase(
        row.state,
        Number(row.rows_done),
        estimateHidden ? null : Number(row.rows_estimated),
      ),
      createdAt: row.created_at,
      startedAt: row.started_at,
      completedAt: row.completed_at,
      tier: row.tier,
      files,
      // What a download would find (download-guard.ts): completed, not stopped, files not deleted,
      // and its agreement in force today — not only the flag the destruction job clears (a review:
      // after a revocation or on the end date the view said true until the job had run).
      downloadable:
        row.state === 'completed' && (await this.db.query(DOWNLOADABLE_RELEASES_SQL, [[id]])).length > 0,
      destroyedAt: row.destroyed_at,
    };
    // Recipients and administrators read counts of persons by the aggregate rule (the stored
    // reason); officers and auditors read exact
    // figures (the exact reason is kept with the other exact counts, in `excluded`).
    if (row.failure_reason) view.failureReason = row.failure_reason;
    if (exact) {
      view.excluded = row.excluded;
      const exact = (row.excluded?.failure as { reason?: string } | undefined)?.reason;
      if (exact) view.failureReason = exact;
      if (row.manifest) view.manifest = row.manifest;
    }
    if (row.risk_report)
      view.riskReport = (exact ? row.risk_report : publicRiskReport(row.risk_report)) as unknown as Record<
        string,
        unknown
      >;
    return view;
  }

  /** A file of a completed, downloadable release, for one of its recipients (audited). */
  async openFile(
    id: string,
    name: string,
    principal: Principal,
    meta: Partial<RequestMeta>,
    request: FileRequest = {},
  ): Promise<OpenedFile> {
    const row = await this.load(id);
    if (!row || !(await this.currentRecipient(row, principal)))
      throw new NotFoundError(RELEASE_ERRORS.NOT_FOUND, 'Release');
    if (row.state !== 'completed')
      throw new ConflictError(RELEASE_ERRORS.RELEASE_NOT_COMPLETED, 'The release is not complete');
    if (!row.downloadable || row.destroyed_at)
      throw new ConflictError(
        RELEASE_ERRORS.RELEASE_NOT_DOWNLOADABLE,
        'The release is no longer available for download',
      );
    // Downloads stop the moment the agreement is no longer in force, before any destruction job runs
    // (and, once streaming, DownloadGuard keeps checking).
    const [inForce] = await this.db.query(DOWNLOADABLE_RELEASES_SQL, [[id]]);
    if (!inForce)
      throw new ConflictError(
        RELEASE_ERRORS.AGREEMENT_NOT_IN_FORCE,
        'The data sharing agreement is no longer in force',
      );
    const [file] = await this.db.query(
      `SELECT name, bytes::bigint AS bytes, sha256 FROM release_files WHERE release_id = $1 AND name = $2`,
      [id, name],
    );
    if (!file) throw new NotFoundError(RELEASE_ERRORS.NOT_FOUND, 'File');
    const full = path.join(this.engine.dirOf(id), file.name);
    const size = await stat(full).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) throw new NotFoundError(RELEASE_ERRORS.NOT_FOUND, 'File');
    // RFC 9110 §13.1.5: a Range under an If-Range that is not this file's entity tag (the only
    // validator sent; a date never matches) is ignored — the whole file (an outsider's probe).
    const ranged =
      request.ifRange === undefined || request.ifRange === `"${file.sha256}"` ? request.range : undefined;
    const range = parseRange(ranged, size);
    // RFC 9110 §13.1.2: an entity tag the client names (weak comparison), or `*`: 304, no bytes.
    const tag = `"${file.sha256}"`;
    const notModified =
      request.ifNoneMatch !== undefined &&
      request.ifNoneMatch
        .split(',')
        .map((t) => t.trim().replace(/^W\//, ''))
        .some((t) => t === '*' || t === tag);
    // A download on the trail is one that sends bytes: not a HEAD, not a 416, not a 304 (an
    // outsider's probe: they were audited as downloads); the range as the bytes sent.
    if (!request.head && !notModified && range !== 'unsatisfiable')
      await this.audit.record({
        action: 'release.downloaded',
        actor: principal,
        bidId: row.bid_id,
        subjectType: 'Release',
        subjectId: id,
        meta,
        details: { file: file.name, range: range ? `${range.start}-${range.end}` : null },
      });
    return { bidId: row.bid_id, path: full, name: file.name, size, sha256: file.sha256, range, notModified };
  }
}
