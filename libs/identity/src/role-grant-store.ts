import { EntityManager } from 'typeorm';
import type { AuditService } from '@custodian/audit';
import { NotFoundError, Principal, RequestMeta, type Role } from '@custodian/core';
import { IDENTITY_ERRORS } from './identity.errors';
import { RoleGrant } from './role-grant.entity';
import { GovernanceRole, planRoleChange } from './role-grants';
import { User } from './user.entity';

/**
 * The role grants' statements for `IdentityService` (issue #28), each in the caller's transaction:
 * lock a grant and its user, request grants, withdraw those no longer wanted, read what is pending.
 * The rules themselves (who may approve, what waits) are pure, in role-grants.ts.
 */

/** The grant and its user, both locked: the user first, as updateUser locks them. */
export async function lockGrant(
  tx: EntityManager,
  grantId: string,
): Promise<{ grant: RoleGrant; user: User }> {
  const found = await tx.getRepository(RoleGrant).findOneBy({ id: grantId });
  if (!found) throw new NotFoundError(IDENTITY_ERRORS.NOT_FOUND, 'Role grant');
  const user = await tx
    .getRepository(User)
    .findOne({ where: { id: found.userId }, lock: { mode: 'pessimistic_write' } });
  const grant = await tx
    .getRepository(RoleGrant)
    .findOne({ where: { id: grantId }, lock: { mode: 'pessimistic_write' } });
  if (!user || !grant) throw new NotFoundError(IDENTITY_ERRORS.NOT_FOUND, 'Role grant');
  return { grant, user };
}

/** Pending grants for these roles (one per user and role: a repeated request keeps the first). */
export async function requestGrants(
  tx: EntityManager,
  audit: AuditService,
  actor: Principal,
  userId: string,
  roles: GovernanceRole[],
  meta?: RequestMeta,
): Promise<void> {
  if (!roles.length) return;
  const rows: { id: string; role: GovernanceRole }[] = await tx.query(
    `INSERT INTO role_grants (user_id, role, requested_by)
     SELECT $1, r, $2 FROM unnest($3::text[]) AS r
     ON CONFLICT (user_id, role) WHERE outcome = 'pending' DO NOTHING
     RETURNING id, role`,
    [userId, actor.id, roles],
  );
  for (const { id, role } of rows)
    await audit.record(
      {
        action: 'identity.role_grant_requested',
        actor,
        subjectType: 'user',
        subjectId: userId,
        meta,
        details: { grantId: id, role, userId, requestedBy: actor.id },
      },
      tx,
    );
}

/** Pending grants of roles the latest edit no longer asks for are withdrawn (refused), each audited. */
export async function withdrawGrants(
  tx: EntityManager,
  audit: AuditService,
  actor: Principal,
  userId: string,
  wanted: Role[],
  meta?: RequestMeta,
): Promise<void> {
  const [rows]: [{ id: string; role: GovernanceRole; requested_by: string }[], number] = await tx.query(
    `UPDATE role_grants SET outcome = 'refused', decided_by = $2, decided_at = now()
      WHERE user_id = $1 AND outcome = 'pending' AND NOT (role = ANY($3::text[]))
      RETURNING id, role, requested_by`,
    [userId, actor.id, wanted],
  );
  for (const r of rows)
    await audit.record(
      {
        action: 'identity.role_grant_refused',
        actor,
        subjectType: 'user',
        subjectId: userId,
        meta,
        details: { grantId: r.id, role: r.role, userId, requestedBy: r.requested_by, reason: 'withdrawn' },
      },
      tx,
    );
}

/** The pending governance roles of these users, in request order. */
export async function pendingRolesOf(
  em: EntityManager,
  userIds: string[],
): Promise<Map<string, GovernanceRole[]>> {
  const map = new Map<string, GovernanceRole[]>();
  if (!userIds.length) return map;
  const rows: { user_id: string; role: GovernanceRole }[] = await em.query(
    `SELECT user_id, role FROM role_grants WHERE outcome = 'pending' AND user_id = ANY($1::uuid[])
      ORDER BY requested_at, role`,
    [userIds],
  );
  for (const r of rows) map.set(r.user_id, [...(map.get(r.user_id) ?? []), r.role]);
  return map;
}

/** `planRoleChange` for `user` towards `desired` (their roles when none), with their roles already waiting. */
export async function planUserRoles(
  em: EntityManager,
  user: { id: string; roles: Role[] },
  desired: Role[] | undefined,
) {
  return planRoleChange(
    user.roles,
    desired ?? user.roles,
    (await pendingRolesOf(em, [user.id])).get(user.id),
  );
}
