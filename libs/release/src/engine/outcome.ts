import { DiskFull, freeBytes } from '../disk-space';
import { RELEASE_FAILURES } from '../release.errors';
import { BuiltFile, ClaimedRelease, EngineContext, ReleaseFailure } from './context';
import { type manifestOf, registerDigest, registerSalt } from './assemble';
import { publicRiskReport, type RiskReport } from '../risk-report';
import { agreementInForce, BIDS_SOURCE, releaseVersionInForce } from '@custodian/bids';
import { aggregateDifferencingNote } from '../aggregate-differencing';
import { RELEASE_AGREEMENT_VERSION } from '../download-guard';

/** What a build produced, for the completion record. */
export interface BuiltRelease {
  files: BuiltFile[];
  manifest: ReturnType<typeof manifestOf>;
  excluded: Record<string, unknown>;
  rows: number;
  shards: number;
  timings: Record<string, unknown>;
  riskReport: RiskReport;
}

/**
 * The release's completion, in one transaction: its files, its state and figures, its line on the
 * public register (SPEC §6) and its audit entry. Refused when the release is no longer running
 * (revoked or failed meanwhile).
 */
export async function recordCompleted(
  ctx: EngineContext,
  rel: ClaimedRelease,
  out: BuiltRelease,
): Promise<void> {
  const releaseId = rel.id;
  await ctx.db.transaction(async (tx) => {
    const [still] = await tx.query(`SELECT state, downloadable FROM releases WHERE id = $1 FOR UPDATE`, [
      releaseId,
    ]);
    if (still?.state !== 'running')
      throw new ReleaseFailure(RELEASE_FAILURES.RELEASE_STATE_CHANGED, 'release is no longer running');
    // The bid's agreement still in force, read under a share lock on the bid: a revocation (which
    // locks the bid for update) that committed first fails the release here; one that comes after
    // finds it completed and destroys its files. An outsider's probe (2026-12-07) revoked a bid while
    // its release ran: the release completed after the revocation, its recipient was told it was
    // ready, and the public register listed it.
    const [bid] = await tx.query(`SELECT state FROM ${BIDS_SOURCE} WHERE id = $1 FOR SHARE`, [rel.bid_id]);
    if (bid?.state !== 'active')
      throw new ReleaseFailure(
        RELEASE_FAILURES.RELEASE_STATE_CHANGED,
        `the bid's agreement ended while the release ran (the bid is ${bid?.state ?? 'gone'})`,
      );
    // Made under the agreement version in force, and not destroyed meanwhile: an amendment that came
    // into force while it ran superseded its terms (review-22: it completed after its own
    // destruction record, told a recipient the amendment took off that it was ready, and left its
    // files for good).
    // And in date: an agreement whose end date came while the release ran has ended, though the
    // expiry sweep (every five minutes) has not yet moved the bid to expired (probe 36: the release
    // completed, its recipients were told it was ready and the register listed it; downloads, which
    // read the date, refused its files).
    const [current] = await tx.query(
      `SELECT r.destroyed_at IS NULL AS kept, ${agreementInForce('r.bid_id')} AS in_date,
              ${releaseVersionInForce(RELEASE_AGREEMENT_VERSION, 'r.bid_id')} AS in_force
         FROM releases r WHERE r.id = $1`,
      [releaseId],
    );
    if (current && !current.in_date)
      throw new ReleaseFailure(
        RELEASE_FAILURES.RELEASE_STATE_CHANGED,
        "the bid's agreement ended while the release ran (its end date came)",
      );
    if (!current?.kept || !current.in_force)
      throw new ReleaseFailure(
        RELEASE_FAILURES.RELEASE_STATE_CHANGED,
        'an amendment to the agreement came into force while the release ran: ask for a release under the agreement in force',
      );
    for (const f of out.files)
      await tx.query(
        `INSERT INTO release_files (release_id, name, rows, bytes, sha256) VALUES ($1,$2,$3,$4,$5)
         ON CONFLICT (release_id, name) DO UPDATE SET rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256`,
        [releaseId, f.name, f.rows, f.bytes, f.sha256],
      );
    await tx.query(
      `UPDATE releases SET state = 'completed', completed_at = now(), manifest = $2, excluded = $3,
              rows_done = $4, rows_estimated = $4, work = coalesce(work, '{}') || $5, risk_report = $6
        WHERE id = $1`,
      [
        releaseId,
        JSON.stringify(out.manifest),
        JSON.stringify(out.excluded),
        out.rows,
        JSON.stringify({ timings: out.timings }),
        JSON.stringify(out.riskReport),
      ],
    );
    // The public register's line for this release (SPEC §6), committed with the release itself.
    await ctx.register.recordRelease(
      {
        bidId: rel.bid_id,
        releaseId,
        tier: rel.spec.tier,
        objectionsApplied: out.manifest.objections.applied,
        objectionsNote: out.manifest.objections.reason ?? null,
        datasets: rel.spec.datasets.map((d) => d.dataset),
        agreementReference: rel.spec.agreementReference,
        independentlyVerified: out.manifest.verification.verified,
        differencingGuard: aggregateDifferencingNote(out.manifest.aggregateDifferencing),
      },
      tx,
    );
    // The recipients hear that the release is ready to download (#25), with the release itself.
    await ctx.notifications.enqueue(tx, {
      kind: 'release.ready',
      to: { users: rel.spec.recipients, organisationId: rel.spec.organisationId },
      bidId: rel.bid_id,
      subject: { type: 'Release', id: releaseId },
      params: { bidId: rel.bid_id },
    });
    await ctx.audit.record(
      {
        action: 'release.completed',
        actor: null,
        bidId: rel.bid_id,
        subjectType: 'Release',
        subjectId: releaseId,
        details: {
          tier: rel.spec.tier,
          legalBasis: rel.spec.legalBasis,
          objectionsApplied: out.manifest.objections.applied,
          shards: out.shards,
          files: out.files.map((f) => ({ name: f.name, rows: f.rows, sha256: f.sha256 })),
        },
      },
      tx,
    );
    // The verifiable register (#24): the line's fixed facts, chained to the audit entry above.
    await ctx.registerLog.appendRelease(tx, {
      releaseId,
      bidId: rel.bid_id,
      tier: rel.spec.tier,
      legalBasis: rel.spec.legalBasis,
      datasets: rel.spec.datasets.map((d) => d.dataset),
      agreementReference: rel.spec.agreementReference ?? null,
      objectionsApplied: out.manifest.objections.applied,
      objectionsNote: out.manifest.objections.reason ?? null,
      files: registerFiles(ctx, rel, out.files),
      riskReport: publicRiskReport(out.riskReport) as unknown as Record<string, unknown>,
    });
  });
}

/** A failed release, in one transaction with its audit entry. */
export async function recordFailed(
  ctx: EngineContext,
  rel: ClaimedRelease,
  failure: ReleaseFailure,
): Promise<void> {
  const releaseId = rel.id;
  await ctx.db.transaction(async (tx) => {
    // The reason recipients read follows the aggregate rule; staff read the exact one, kept
    // with the other exact figures (`excluded`, staff only).
    await tx.query(
      `UPDATE releases SET state = 'failed', failure_reason = $2, completed_at = now(),
              excluded = coalesce(excluded, '{}') || $3 WHERE id = $1 AND state = 'running'`,
      [
        releaseId,
        `${failure.code}: ${failure.message}`.slice(0, 300),
        JSON.stringify(
          failure.exact ? { failure: { reason: `${failure.code}: ${failure.exact}`.slice(0, 300) } } : {},
        ),
      ],
    );
    await ctx.audit.record(
      {
        action: 'release.failed',
        outcome: 'failure',
        actor: null,
        bidId: rel.bid_id,
        subjectType: 'Release',
        subjectId: releaseId,
        details: { code: failure.code },
      },
      tx,
    );
  });
}

/**
 * A full release disk (SPEC §5: fail rather than hang): the officer reads the room there is and
 * the room the estimate asked for; recipients read that the disk is full. Not retried: freeing
 * space is someone's job first, and the officer asks again.
 */
export async function diskFullFailure(
  ctx: EngineContext,
  err: unknown,
  rel: ClaimedRelease,
): Promise<ReleaseFailure> {
  const full =
    err instanceof DiskFull
      ? err
      : new DiskFull(await freeBytes(ctx.config.dataDir).catch(() => 0), rel.bytesNeeded);
  return new ReleaseFailure(full.code, DiskFull.PUBLIC, full.message);
}

/** The files as the public register names them: size, and the salted digest (assemble.ts). */
function registerFiles(ctx: EngineContext, rel: ClaimedRelease, files: BuiltRelease['files']) {
  const salt = registerSalt(ctx, rel);
  try {
    return files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: registerDigest(salt, f.sha256) }));
  } finally {
    salt.fill(0);
  }
}
