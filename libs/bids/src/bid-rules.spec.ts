import fc from 'fast-check';
import { TIERS, tierRank, type Tier } from '@custodian/catalog';
import { BASES_BY_TIER, decide, objectionHandling, type CountedVote } from './bid-rules';

const vote = (
  decision: CountedVote['decision'],
  tier: Tier = 'pseudonymised',
  conditions: string[] = [],
) => ({
  decision,
  tier,
  conditions,
});

describe('legal basis by tier', () => {
  it('identifiable and pseudonymised need a legal basis; none only for anonymised/aggregate', () => {
    expect(BASES_BY_TIER.identifiable).not.toContain('none');
    expect(BASES_BY_TIER.pseudonymised).not.toContain('none');
    expect(BASES_BY_TIER.anonymised).toContain('none');
    expect(BASES_BY_TIER.aggregate).toContain('none');
  });
});

describe('objection handling', () => {
  it('is not applied under public_health_emergency or statutory, with a reason', () => {
    for (const tier of TIERS) {
      expect(objectionHandling('public_health_emergency', tier)).toMatchObject({ applied: false });
      expect(objectionHandling('statutory', tier).note).toMatch(/statute/);
    }
    expect(objectionHandling('s251', 'pseudonymised').applied).toBe(true);
    expect(objectionHandling('none', 'aggregate').applied).toBe(false);
  });
});

describe('panel decision', () => {
  it('waits for quorum', () => {
    expect(decide([vote('approve'), vote('approve')], 3, 'pseudonymised')).toEqual({ outcome: 'pending' });
  });
  it('approves by majority at the least identifying approving tier, collecting conditions', () => {
    expect(
      decide(
        [
          vote('approve', 'pseudonymised', ['no linkage']),
          vote('approve', 'anonymised', ['annual report']),
          vote('reject'),
        ],
        3,
        'pseudonymised',
      ),
    ).toEqual({
      outcome: 'approved',
      grantedTier: 'anonymised',
      conditions: ['no linkage', 'annual report'],
    });
  });
  it('rejects by majority, otherwise returns', () => {
    expect(decide([vote('reject'), vote('reject'), vote('approve')], 3, 'aggregate').outcome).toBe(
      'rejected',
    );
    expect(decide([vote('reject'), vote('return'), vote('approve')], 3, 'aggregate').outcome).toBe(
      'returned',
    );
    expect(
      decide([vote('approve'), vote('reject'), vote('return'), vote('return')], 4, 'aggregate').outcome,
    ).toBe('returned');
  });
  it('never grants above the request nor above any approving vote', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TIERS),
        fc.array(
          fc.record({
            decision: fc.constantFrom('approve', 'reject', 'return' as const),
            tier: fc.constantFrom(...TIERS),
          }),
          {
            minLength: 3,
            maxLength: 9,
          },
        ),
        (requested, raw) => {
          const votes = raw.map((v) => ({ ...v, conditions: [] }));
          const r = decide(votes, 3, requested);
          if (r.outcome !== 'approved') return true;
          return (
            tierRank(r.grantedTier) <= tierRank(requested) &&
            votes
              .filter((v) => v.decision === 'approve')
              .every((v) => tierRank(r.grantedTier) <= tierRank(v.tier))
          );
        },
      ),
    );
  });
});
