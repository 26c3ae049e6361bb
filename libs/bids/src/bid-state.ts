import type { Role } from '@custodian/core';
import { BIDS_ERRORS } from './bids.errors';

export const BID_STATES = [
  'draft',
  'submitted',
  'returned',
  'in_review',
  'approved',
  'rejected',
  'active',
  'expired',
  'revoked',
  'closed',
  'withdrawn',
] as const;
export type BidState = (typeof BID_STATES)[number];

export type BidAction =
  | 'submit'
  | 'withdraw'
  | 'screen_accept'
  | 'screen_return'
  | 'decide_approve'
  | 'decide_reject'
  | 'decide_return'
  | 'accept_agreement'
  | 'revoke'
  | 'expire'
  | 'close';

/** `system` is the scheduled sweep; it is never a user's role. */
export type ActingRole = Role | 'system';

export interface Transition {
  action: BidAction;
  from: readonly BidState[];
  to: BidState;
  /** The role the actor must hold to take this transition. */
  by: ActingRole;
}

/**
 * The bid state machine of SPEC §4, as data: every allowed transition, by action and role.
 * Nothing else changes a bid's state (see BidWorkflow.transition).
 */
export const TRANSITIONS: readonly Transition[] = [
  { action: 'submit', from: ['draft', 'returned'], to: 'submitted', by: 'researcher' },
  {
    action: 'withdraw',
    from: ['draft', 'submitted', 'returned', 'in_review'],
    to: 'withdrawn',
    by: 'researcher',
  },
  { action: 'screen_accept', from: ['submitted'], to: 'in_review', by: 'release_officer' },
  { action: 'screen_return', from: ['submitted'], to: 'returned', by: 'release_officer' },
  { action: 'decide_approve', from: ['in_review'], to: 'approved', by: 'panel_member' },
  { action: 'decide_reject', from: ['in_review'], to: 'rejected', by: 'panel_member' },
  { action: 'decide_return', from: ['in_review'], to: 'returned', by: 'panel_member' },
  { action: 'accept_agreement', from: ['approved'], to: 'active', by: 'researcher' },
  { action: 'revoke', from: ['approved', 'active'], to: 'revoked', by: 'admin' },
  { action: 'expire', from: ['active'], to: 'expired', by: 'system' },
  { action: 'close', from: ['active'], to: 'closed', by: 'researcher' },
];

/** States in which the applicant may still edit the bid. */
export const EDITABLE_STATES: readonly BidState[] = ['draft', 'returned'];
/** States that put a bid on the public register. */
export const REGISTER_STATES: readonly BidState[] = ['approved', 'active', 'expired', 'revoked', 'closed'];

export type TransitionCheck =
  | { ok: true; transition: Transition }
  | { ok: false; reason: typeof BIDS_ERRORS.ILLEGAL_TRANSITION | 'ROLE_NOT_ALLOWED' };

/** Pure decision: may an actor holding `roles` take `action` on a bid in state `from`? */
export function checkTransition(
  action: BidAction,
  from: BidState,
  roles: readonly ActingRole[],
): TransitionCheck {
  return checkIn(TRANSITIONS, action, from, roles);
}

/**
 * The one rule over a transition table (a bid's, an amendment's): the action must exist, be the
 * actor's role's, and start from the current state.
 */
export function checkIn<A, S, T extends { action: A; from: readonly S[]; by: ActingRole }>(
  table: readonly T[],
  action: A,
  from: S,
  roles: readonly ActingRole[],
):
  | { ok: true; transition: T }
  | { ok: false; reason: typeof BIDS_ERRORS.ILLEGAL_TRANSITION | 'ROLE_NOT_ALLOWED' } {
  const transition = table.find((t) => t.action === action);
  if (!transition) return { ok: false, reason: BIDS_ERRORS.ILLEGAL_TRANSITION };
  if (!roles.includes(transition.by)) return { ok: false, reason: 'ROLE_NOT_ALLOWED' };
  if (!transition.from.includes(from)) return { ok: false, reason: BIDS_ERRORS.ILLEGAL_TRANSITION };
  return { ok: true, transition };
}
