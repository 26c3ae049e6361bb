import { TIERS } from '@custodian/catalog';
import { objectionHandling } from '@custodian/bids';
import { objectionPolicy } from '../libs/release/src/release-spec';

/**
 * The register's decision line (`objectionHandling`, libs/bids) and its release line (the release
 * engine's `objectionPolicy`) say whether objections were applied to one bid: they must say the
 * same (SPEC §6). For a consent bid the decision said applied, the release not (an outsider's probe,
 * 2026-12-07): consent overrides a Type 2 objection within the cohort.
 */
describe('objection handling, register and release', () => {
  it('agree on whether objections apply, for every legal basis and tier', () => {
    for (const tier of TIERS)
      for (const legalBasis of ['none', 's251', 'consent', 'statutory', 'public_health_emergency'] as const)
        expect(objectionHandling(legalBasis, tier).applied, `${legalBasis} ${tier}`).toBe(
          objectionPolicy({ tier, legalBasis }).applied,
        );
  });
});
