import { ForbiddenError, type Role } from '@custodian/core';
import { GRANT_ERRORS } from './identity.errors';

/**
 * Segregation of duties (issue #28). The roles that decide what leaves the centre, or who watches
 * it, are given through the API only with a second administrator's approval: one administrator
 * can neither give themselves one nor make an account through which to act.
 */
export const GOVERNANCE_ROLES = [
  'admin',
  'panel_member',
  'release_officer',
  'auditor',
] as const satisfies readonly Role[];
export type GovernanceRole = (typeof GOVERNANCE_ROLES)[number];

export const isGovernanceRole = (role: Role): role is GovernanceRole =>
  (GOVERNANCE_ROLES as readonly Role[]).includes(role);

/**
 * How an administrator's requested role set applies to a user who holds `current`: governance roles
 * not already held wait for approval (`pending`); everything else, removals included, applies at once.
 */
export function planRoleChange(
  current: readonly Role[],
  desired: readonly Role[],
  waiting: readonly Role[] = [],
) {
  const pending = desired.filter((r): r is GovernanceRole => isGovernanceRole(r) && !current.includes(r));
  const apply = desired.filter((r) => !(pending as Role[]).includes(r));
  // `fresh`: the roles this change asks for anew, not those already waiting for approval (an
  // administrator saving their own page with a role another requested for them was refused as
  // asking for it themselves, and the refusal audited in their name: review-20).
  return { apply, pending, fresh: pending.filter((r) => !waiting.includes(r)) };
}

/** Why `approverId` may not approve this grant, or null when they may: a second pair of eyes, not the first or the grantee's. */
export function approvalRefusal(
  grant: { requestedBy: string; userId: string },
  approverId: string,
): (typeof GRANT_ERRORS)['APPROVER_IS_REQUESTER' | 'APPROVER_IS_GRANTEE'] | null {
  if (grant.requestedBy === approverId) return GRANT_ERRORS.APPROVER_IS_REQUESTER;
  if (grant.userId === approverId) return GRANT_ERRORS.APPROVER_IS_GRANTEE;
  return null;
}

/** An administrator asked for a governance role for themselves: refused, and audited once the transaction is undone. */
export class SelfRoleGrant extends ForbiddenError {
  constructor(readonly roles: GovernanceRole[]) {
    super(
      GRANT_ERRORS.SELF_ROLE_GRANT,
      'Administrators cannot give themselves a governance role; another administrator must request it',
    );
  }
}
