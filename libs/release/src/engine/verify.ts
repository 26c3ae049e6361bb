import { RELEASE_FAILURES } from '../release.errors';
import { VerificationFailure, verifyRelease } from '../verifier/verify-release';
import { BuiltFile, ClaimedRelease, EngineContext, ReleaseFailure } from './context';
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
): Promise<Verification> {
  return verifyRelease(
    dir,
    {
      id: rel.id,
      files,
      suffix: '.partial',
      suppressedByFile: prepared.kAnon?.suppressedByFile,
      removedByFile: prepared.kAnon?.removedByFile,
    },
    ctx.db,
    {
      keys: ctx.keys,
      anonK: ctx.config.anonK,
      anonM: ctx.config.anonM,
      anonMaxSuppression: ctx.config.anonMaxSuppression,
      aggMinPopulation: ctx.config.aggMinPopulation,
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
    throw new ReleaseFailure(RELEASE_FAILURES.RELEASE_VERIFICATION_FAILED, err.message);
  });
}
