import { has, RulesFile } from './types';

/**
 * Governance-role grants (issue #28): administrators list and decide them. That the approver is
 * neither the requester nor the grantee is a rule about one loaded grant, checked in
 * IdentityService (and again by the role_grants table's CHECK).
 */
export const roleGrantRules: RulesFile = (user, { can }) => {
  if (has(user, 'admin')) can(['read', 'approve', 'refuse'], 'RoleGrant');
};
