import fc from 'fast-check';
import { TIERS, tierRank, type Tier } from '@custodian/catalog';
import { NO_LINKAGE_CONDITION } from '@custodian/bids';
import {
  amendmentVoteRefusal,
  decide,
  voteRefusal,
  voterRefusal,
  type CountedVote,
  type VoteSituation,
} from './decision-rule';

const vote = (
  decision: CountedVote['decision'],
  tier: Tier = 'pseudonymised',
  conditions: string[] = [],
  approveLinkage = true,
): CountedVote => ({ decision, tier, conditions, approveLinkage });

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
  it('a pseudonymised grant carries the no-linkage condition unless every approving vote approved linkage', () => {
    const all = decide([vote('approve'), vote('approve'), vote('approve')], 3, 'pseudonymised');
    expect(all).toEqual({ outcome: 'approved', grantedTier: 'pseudonymised', conditions: [] });
    const one = decide(
      [vote('approve'), vote('approve', 'pseudonymised', [], false), vote('approve')],
      3,
      'pseudonymised',
    );
    expect(one).toMatchObject({ conditions: [NO_LINKAGE_CONDITION] });
    // Unknown is not approved (fail closed).
    const unknown = decide(
      [{ decision: 'approve', tier: 'pseudonymised', conditions: [] }, vote('approve'), vote('reject')],
      3,
      'pseudonymised',
    );
    expect(unknown).toMatchObject({ conditions: [NO_LINKAGE_CONDITION] });
    // Other tiers never get it.
    const anon = decide([vote('approve', 'anonymised', [], false)], 1, 'anonymised');
    expect(anon).toEqual({ outcome: 'approved', grantedTier: 'anonymised', conditions: [] });
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
          { minLength: 3, maxLength: 9 },
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
  it('decides exactly one way at quorum, and the same for the same votes in any order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('approve', 'reject', 'return' as const), { minLength: 3, maxLength: 9 }),
        (decisions) => {
          const votes = decisions.map((d) => vote(d));
          const r = decide(votes, 3, 'pseudonymised');
          const reversed = decide([...votes].reverse(), 3, 'pseudonymised');
          const approvals = decisions.filter((d) => d === 'approve').length;
          const rejections = decisions.filter((d) => d === 'reject').length;
          const expected =
            approvals * 2 > decisions.length
              ? 'approved'
              : rejections * 2 > decisions.length
                ? 'rejected'
                : 'returned';
          return r.outcome === expected && reversed.outcome === expected;
        },
      ),
    );
  });
});

describe('who may vote', () => {
  const member = { roles: ['panel_member'], organisationId: 'org-centre' };
  const situation = (over: Partial<VoteSituation> = {}, bid: Partial<VoteSituation['bid']> = {}) => ({
    bid: {
      state: 'in_review' as const,
      organisationId: 'org-applicant',
      requestedTier: 'pseudonymised' as Tier,
      aggregation: null,
      ...bid,
    },
    screenedIt: false,
    alreadyVoted: false,
    ...over,
  });
  const code = (e: ReturnType<typeof voteRefusal>) => e && [e.constructor.name, e.code];

  it('only panel members who are not administrators', () => {
    expect(voterRefusal(member)).toBeNull();
    expect(voterRefusal({ roles: ['panel_member', 'admin'], organisationId: null })?.code).toBe(
      'SEGREGATION_OF_DUTIES',
    );
    expect(voterRefusal({ roles: ['researcher'], organisationId: null })?.code).toBe('SEGREGATION_OF_DUTIES');
  });
  it('refuses in order: state, applicant organisation, screener, second vote, tier', () => {
    const approve = { decision: 'approve' as const };
    expect(voteRefusal(member, approve, situation())).toBeNull();
    expect(code(voteRefusal(member, approve, situation({}, { state: 'submitted' })))).toEqual([
      'ConflictError',
      'ILLEGAL_TRANSITION',
    ]);
    const own = { ...member, organisationId: 'org-applicant' };
    expect(code(voteRefusal(own, approve, situation({ screenedIt: true, alreadyVoted: true })))).toEqual([
      'ForbiddenError',
      'RECUSED',
    ]);
    expect(code(voteRefusal(member, approve, situation({ screenedIt: true, alreadyVoted: true })))).toEqual([
      'ForbiddenError',
      'SEGREGATION_OF_DUTIES',
    ]);
    expect(code(voteRefusal(member, approve, situation({ alreadyVoted: true })))).toEqual([
      'ConflictError',
      'ALREADY_VOTED',
    ]);
    expect(code(voteRefusal(member, { decision: 'reject', tier: 'identifiable' }, situation()))).toEqual([
      'ValidationError',
      'TIER_ABOVE_REQUEST',
    ]);
  });
  it('approving at the aggregate tier needs the dimensions the bid states; rejecting at it does not', () => {
    expect(code(voteRefusal(member, { decision: 'approve', tier: 'aggregate' }, situation()))).toEqual([
      'ValidationError',
      'AGGREGATION_REQUIRED',
    ]);
    expect(voteRefusal(member, { decision: 'reject', tier: 'aggregate' }, situation())).toBeNull();
    expect(
      voteRefusal(
        member,
        { decision: 'approve', tier: 'aggregate' },
        situation({}, { requestedTier: 'aggregate', aggregation: { dimensions: ['sex'] } }),
      ),
    ).toBeNull();
    // SPEC §4's example: a pseudonymised request that states the counts the panel may grant instead.
    expect(
      voteRefusal(
        member,
        { decision: 'approve', tier: 'aggregate' },
        situation({}, { aggregation: { dimensions: ['sex', 'age_band'] } }),
      ),
    ).toBeNull();
  });
});

describe('amendmentVoteRefusal (#25)', () => {
  const voter = { roles: ['panel_member'], organisationId: 'reviewers' };
  const s = {
    amendment: { state: 'in_review' as const },
    bid: { organisationId: 'applicant', grantedTier: 'pseudonymised' as const },
    screenedIt: false,
    alreadyVoted: false,
  };
  it('lets a member vote on an amendment in review, at the tier in force or without one', () => {
    expect(amendmentVoteRefusal(voter, { decision: 'approve' }, s)).toBeNull();
    expect(amendmentVoteRefusal(voter, { decision: 'approve', tier: 'pseudonymised' }, s)).toBeNull();
  });
  it('refuses another tier, a state other than in review, the applicant, the screener, a second vote', () => {
    expect(amendmentVoteRefusal(voter, { decision: 'approve', tier: 'anonymised' }, s)?.code).toBe(
      'AMENDMENT_TIER_FIXED',
    );
    expect(
      amendmentVoteRefusal(voter, { decision: 'approve' }, { ...s, amendment: { state: 'submitted' } })?.code,
    ).toBe('ILLEGAL_TRANSITION');
    expect(
      amendmentVoteRefusal({ ...voter, organisationId: 'applicant' }, { decision: 'reject' }, s)?.code,
    ).toBe('RECUSED');
    expect(amendmentVoteRefusal(voter, { decision: 'reject' }, { ...s, screenedIt: true })?.code).toBe(
      'SEGREGATION_OF_DUTIES',
    );
    expect(amendmentVoteRefusal(voter, { decision: 'reject' }, { ...s, alreadyVoted: true })?.code).toBe(
      'ALREADY_VOTED',
    );
  });
});
