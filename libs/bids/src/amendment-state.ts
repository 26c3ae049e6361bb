import { BIDS_ERRORS } from './bids.errors';
import { checkIn, type ActingRole } from './bid-state';
import type { VersionState } from './bid.entity';

export type AmendmentAction =
  | 'submit'
  | 'withdraw'
  | 'screen_accept'
  | 'screen_return'
  | 'officer_approve'
  | 'decide_approve'
  | 'decide_reject'
  | 'decide_return'
  | 'accept';

export interface AmendmentTransition {
  action: AmendmentAction;
  from: readonly VersionState[];
  to: VersionState;
  by: ActingRole;
}

/**
 * An amendment's states (#25), as data: screened and decided like a bid, with one more way to
 * approval — a release officer alone, when the amendment only narrows (checked by the caller with
 * `amendmentDiff`). `accept`: the applicant accepts the new agreement version and the amendment
 * comes into force (the version it replaces becomes `superseded`). The bid's own state is not
 * touched by any of these: the version in force stays in force while an amendment is open.
 */
export const AMENDMENT_TRANSITIONS: readonly AmendmentTransition[] = [
  { action: 'submit', from: ['draft', 'returned'], to: 'submitted', by: 'researcher' },
  {
    // From `approved`: the applicant declines the agreement version offered (it is closed unaccepted).
    action: 'withdraw',
    from: ['draft', 'submitted', 'returned', 'in_review', 'approved'],
    to: 'withdrawn',
    by: 'researcher',
  },
  { action: 'screen_accept', from: ['submitted'], to: 'in_review', by: 'release_officer' },
  { action: 'screen_return', from: ['submitted'], to: 'returned', by: 'release_officer' },
  { action: 'officer_approve', from: ['submitted'], to: 'approved', by: 'release_officer' },
  { action: 'decide_approve', from: ['in_review'], to: 'approved', by: 'panel_member' },
  { action: 'decide_reject', from: ['in_review'], to: 'rejected', by: 'panel_member' },
  { action: 'decide_return', from: ['in_review'], to: 'returned', by: 'panel_member' },
  { action: 'accept', from: ['approved'], to: 'in_force', by: 'researcher' },
];

/** Amendment states in which the applicant may still edit it. */
export const AMENDMENT_EDITABLE: readonly VersionState[] = ['draft', 'returned'];

/** Bid states in which a bid may be amended. */
export const AMENDABLE_BID_STATES = ['approved', 'active'] as const;

export type AmendmentCheck =
  | { ok: true; transition: AmendmentTransition }
  | { ok: false; reason: typeof BIDS_ERRORS.ILLEGAL_TRANSITION | 'ROLE_NOT_ALLOWED' };

/** Pure decision: may an actor holding `roles` take `action` on an amendment in state `from`? */
export function checkAmendmentTransition(
  action: AmendmentAction,
  from: VersionState,
  roles: readonly ActingRole[],
): AmendmentCheck {
  return checkIn(AMENDMENT_TRANSITIONS, action, from, roles);
}

/** An amendment action as a past participle, for the message that refuses it in the wrong state. */
export const amendmentVerb = (a: AmendmentAction) =>
  ({
    submit: 'submitted',
    withdraw: 'withdrawn',
    screen_accept: 'screened',
    screen_return: 'screened',
    officer_approve: 'approved',
    decide_approve: 'decided',
    decide_reject: 'decided',
    decide_return: 'decided',
    accept: 'accepted',
  })[a];
