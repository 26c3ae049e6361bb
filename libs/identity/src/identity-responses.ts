import { OrganisationDto, RoleGrantDto, UserDto } from './dto';
import { Organisation } from './organisation.entity';
import { RoleGrant } from './role-grant.entity';
import { GovernanceRole } from './role-grants';
import { User } from './user.entity';

/** The identity library's entities as the API answers them. */

export const toOrganisationResponse = (o: Organisation): OrganisationDto => ({
  id: o.id,
  name: o.name,
  kind: o.kind,
  createdAt: o.createdAt,
});
/** A user and the governance roles waiting for a second administrator's approval. */
export interface UserWithGrants {
  user: User;
  pendingRoles: GovernanceRole[];
}

export const toUserResponse = ({ user: u, pendingRoles }: UserWithGrants): UserDto => ({
  id: u.id,
  email: u.email,
  displayName: u.displayName,
  roles: u.roles,
  pendingRoles,
  organisationId: u.organisationId,
  practiceOds: u.practiceOds,
  disabled: u.disabled,
  createdAt: u.createdAt,
});

export const toRoleGrantResponse = (g: RoleGrant): RoleGrantDto => ({
  id: g.id,
  userId: g.userId,
  role: g.role,
  requestedBy: g.requestedBy,
  requestedAt: g.requestedAt,
  decidedBy: g.decidedBy,
  decidedAt: g.decidedAt,
  outcome: g.outcome,
});
