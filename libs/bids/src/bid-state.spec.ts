import fc from 'fast-check';
import { BID_STATES, checkTransition, TRANSITIONS, type BidAction } from './bid-state';

const ACTIONS = TRANSITIONS.map((t) => t.action) as BidAction[];

describe('bid state machine', () => {
  it('has exactly the transitions of SPEC §4', () => {
    const edges = TRANSITIONS.flatMap((t) => t.from.map((f) => `${f}->${t.to}`)).sort();
    expect(edges).toEqual(
      [
        'draft->submitted',
        'returned->submitted',
        'submitted->in_review',
        'submitted->returned',
        'in_review->approved',
        'in_review->rejected',
        'in_review->returned',
        'approved->active',
        'approved->revoked',
        'active->revoked',
        'active->expired',
        'active->closed',
        'draft->withdrawn',
        'submitted->withdrawn',
        'returned->withdrawn',
        'in_review->withdrawn',
      ].sort(),
    );
  });

  it('withdrawal is possible from every state before approval and none after', () => {
    for (const s of BID_STATES) {
      const ok = checkTransition('withdraw', s, ['researcher']).ok;
      expect(ok).toBe(['draft', 'submitted', 'returned', 'in_review'].includes(s));
    }
  });

  it('terminal states allow nothing', () => {
    for (const s of ['rejected', 'expired', 'revoked', 'closed', 'withdrawn'] as const)
      for (const a of ACTIONS)
        expect(
          checkTransition(a, s, ['admin', 'researcher', 'panel_member', 'release_officer', 'system']).ok,
        ).toBe(false);
  });

  it('an action is taken only by its role', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ACTIONS),
        fc.constantFrom(...BID_STATES),
        fc.subarray([
          'admin',
          'researcher',
          'panel_member',
          'release_officer',
          'auditor',
          'data_manager',
        ] as const),
        (action, state, roles) => {
          const t = TRANSITIONS.find((x) => x.action === action)!;
          const r = checkTransition(action, state, roles);
          if (!roles.includes(t.by as never)) return !r.ok && r.reason === 'ROLE_NOT_ALLOWED';
          return r.ok === t.from.includes(state);
        },
      ),
    );
  });
});
