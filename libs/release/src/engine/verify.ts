import { RELEASE_FAILURES } from '../release.errors';
import { VerificationFailure, verifyRelease } from '../verifier/verify-release';
import { objectionsRecordedBy } from '../verifier/verifier-sql';
import { BuiltFile, ClaimedRelease, EngineContext, ReleaseFailure, withClient } from './context';
import type { Prepared } from './prepare';

export type Verification = Awaited<ReturnType<typeof verifyRelease>>;

/**
 * Verify stage: independent verification (SPEC §5 step 6, STYLE 17) of the files still
 * `.partial`, by code that shares none of the engine's queries (../verifier). A release that fails
 * it fails (audited as `release.verification_failed`); the manifest records the result.
 */
export async function verify(
  ctx: EngineContext,
  rel: ClaimedRelease,
  dir: string,
  files: BuiltFile[],
  prepared: Prepared,
  snapshot: string,
): Promise<Verification> {
  // The attempt's exported snapshot (its holder's transaction stays open until the release is
  // recorded): a pg_export_snapshot() identifier, checked before it is written into a statement.
  if (!/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(snapshot)) throw new Error('not a snapshot identifier');
  const inSnapshot = <T>(
    read: (db: { query: (sql: string, params?: unknown[]) => Promise<unknown> }) => Promise<T>,
  ) =>
    withClient(ctx.db, async (client) => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        await client.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
        return await read({ query: async (sql, params) => (await client.query(sql, params)).rows });
      } finally {
        await client.query('ROLLBACK');
      }
    });
  const verification = await verifyRelease(
    dir,
    {
      id: rel.id,
      files,
      suffix: '.partial',
      suppressedByFile: prepared.kAnon?.suppressedByFile,
      removedByFile: prepared.kAnon?.removedByFile,
      kmEmptiedByFile: prepared.km?.emptiedByFile,
      kmSuppressedRowsByFile: prepared.km?.suppressedByFile,
      inSnapshot,
    },
    ctx.db,
    {
      keys: ctx.keys,
      anonK: ctx.config.anonK,
      anonM: ctx.config.anonM,
      anonMaxSuppression: ctx.config.anonMaxSuppression,
      aggMinPopulation: ctx.config.aggMinPopulation,
      aggMinPopulationMargin: ctx.config.aggMinPopulationMargin,
    },
  ).catch(async (err) => {
    if (!(err instanceof VerificationFailure)) throw err;
    await ctx.audit.record({
      action: 'release.verification_failed',
      outcome: 'failure',
      actor: null,
      bidId: rel.bid_id,
      subjectType: 'Release',
      subjectId: rel.id,
      details: { check: err.check, reason: err.message },
    });
    // Recipients read which check failed, not its detail: a reason names rows, values and counts of
    // persons (1–7 among them), which only staff may read (#19); the exact reason is kept for them.
    throw new ReleaseFailure(
      RELEASE_FAILURES.RELEASE_VERIFICATION_FAILED,
      `the files failed their independent verification (${err.check}); the release officer can see why`,
      err.message,
    );
  });
  // Objections recorded by the snapshot's instant that its data does not hold: their transaction
  // began before it and committed after (an intake, or an API call waiting on the register's lock,
  // can take minutes). The engine and the verifier both read the snapshot, so such a patient would
  // be released although their objection is dated before the release's stated instant. Fail
  // closed: this attempt is given up (a plain error: the job runs again) and the next takes a new
  // snapshot, which holds them (a review of the change, 2026-12-06). The register is append-only,
  // so the counts differ only by such late rows (and so are the NHS number aliases, counted with them).
  const live = await objectionsRecordedBy(ctx.db, rel.snapshotCut);
  const held = await inSnapshot((db) => objectionsRecordedBy(db, rel.snapshotCut));
  if (live > held)
    throw new Error(
      'objections recorded before the snapshot instant committed after it: the release is taken again from a new snapshot',
    );
  return verification;
}
