import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  ConflictError,
  ForbiddenError,
  storedName,
  NotFoundError,
  Principal,
  RequestMeta,
} from '@custodian/core';
import { CreateOrganisationDto, CreateUserDto, UpdateUserDto } from './dto';
import { Organisation } from './organisation.entity';
import { RoleGrant } from './role-grant.entity';
import { GRANT_ERRORS, IDENTITY_ERRORS } from './identity.errors';
import type { UserWithGrants } from './identity-responses';
import { approvalRefusal, planRoleChange, SelfRoleGrant } from './role-grants';
import { lockGrant, pendingRolesOf, planUserRoles, requestGrants, withdrawGrants } from './role-grant-store';
import { checkBindings } from './user-bindings';
import { User } from './user.entity';
import { PasswordService } from './password.service';
import { assertAccountAcceptable, assertPasswordAcceptable } from './password-policy';
import { USER_SESSIONS, type UserSessions } from './user-sessions';
import { USER_NOTICES, type UserNotices } from './user-notices';

const isUniqueViolation = (e: unknown, constraint: string) =>
  (e as { driverError?: { code?: string; constraint?: string } }).driverError?.code === '23505' &&
  (e as { driverError?: { constraint?: string } }).driverError?.constraint === constraint;

/** Organisations and users. Role bindings (practice → ODS code, researcher → organisation) are enforced here and in the schema. */
@Injectable()
export class IdentityService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly passwords: PasswordService,
    @Inject(USER_SESSIONS) private readonly auth: UserSessions,
    private readonly audit: AuditService,
    // Absent only where notifications are not loaded (the CLI), which never moves a user.
    @Optional() @Inject(USER_NOTICES) private readonly notices?: UserNotices,
  ) {}

  async createOrganisation(
    actor: Principal | null,
    dto: CreateOrganisationDto,
    meta?: RequestMeta,
  ): Promise<Organisation> {
    try {
      return await this.db.transaction(async (tx) => {
        const org = await tx.save(
          tx.create(Organisation, { name: storedName(dto.name, 'name', 2), kind: dto.kind }),
        );
        await this.audit.record(
          {
            action: 'organisation.create',
            actor,
            subjectType: 'organisation',
            subjectId: org.id,
            meta,
            details: { kind: org.kind },
          },
          tx,
        );
        return org;
      });
    } catch (e) {
      // The exact name, or the name in any case (migration 1764000053000).
      if (
        ['organisations_name_unique', 'organisations_name_folded_unique'].some((c) => isUniqueViolation(e, c))
      )
        throw new ConflictError(IDENTITY_ERRORS.ORGANISATION_EXISTS, 'An organisation of this name exists');
      throw e;
    }
  }

  listOrganisations(): Promise<Organisation[]> {
    return this.db.getRepository(Organisation).find({ order: { name: 'ASC' } });
  }

  async getOrganisation(id: string): Promise<Organisation> {
    const org = await this.db.getRepository(Organisation).findOneBy({ id });
    if (!org) throw new NotFoundError(IDENTITY_ERRORS.NOT_FOUND, 'Organisation');
    return org;
  }

  /**
   * The system's path (demo seeding, the CLI, test factories): every role applies at once; the
   * API's password rules apply when asked (`passwordRules`: the CLI and `ADMIN_PASSWORD`, whose
   * passwords a person chose; the demo's are random, the factories' short on purpose). `actor`
   * is always null here — an administrator's request over HTTP goes through `requestUser`, where
   * governance roles wait for a second administrator.
   */
  async createUser(
    actor: null,
    dto: CreateUserDto,
    meta?: RequestMeta,
    opts: { passwordRules?: boolean } = {},
  ): Promise<User> {
    if (opts.passwordRules) await assertAccountAcceptable(dto.email, dto.password);
    return (await this.insertUser(actor, dto, meta)).user;
  }

  /** An administrator creates a user: governance roles become pending grants (issue #28), the rest apply at once. */
  async requestUser(actor: Principal, dto: CreateUserDto, meta?: RequestMeta): Promise<UserWithGrants> {
    if (!actor?.id) throw new ForbiddenError();
    return this.insertUser(actor, dto, meta);
  }

  private async insertUser(
    actor: Principal | null,
    dto: CreateUserDto,
    meta?: RequestMeta,
  ): Promise<UserWithGrants> {
    const email = dto.email.trim().toLowerCase();
    const { apply, pending } = actor ? planRoleChange([], dto.roles) : { apply: dto.roles, pending: [] };
    await checkBindings(this.db.manager, apply, dto.organisationId ?? null, dto.practiceOds ?? null);
    const passwordHash = await this.passwords.hash(dto.password);
    try {
      return await this.db.transaction(async (tx) => {
        const user = await tx.save(
          tx.create(User, {
            email,
            passwordHash,
            displayName: storedName(dto.displayName, 'displayName', 1),
            roles: apply,
            organisationId: dto.organisationId ?? null,
            practiceOds: dto.practiceOds ?? null,
          }),
        );
        await this.audit.record(
          {
            action: 'user.create',
            actor,
            subjectType: 'user',
            subjectId: user.id,
            meta,
            details: {
              roles: user.roles,
              pendingRoles: pending,
              organisationId: user.organisationId,
              practiceOds: user.practiceOds,
            },
          },
          tx,
        );
        if (actor) await requestGrants(tx, this.audit, actor, user.id, pending, meta);
        return { user, pendingRoles: pending };
      });
    } catch (e) {
      if (isUniqueViolation(e, 'users_email_unique'))
        throw new ConflictError(IDENTITY_ERRORS.EMAIL_TAKEN, 'A user with this email already exists');
      throw e;
    }
  }

  async listUsers(organisationId?: string): Promise<UserWithGrants[]> {
    const users = await this.db
      .getRepository(User)
      .find({ where: organisationId ? { organisationId } : {}, order: { email: 'ASC' } });
    const pending = await pendingRolesOf(
      this.db.manager,
      users.map((u) => u.id),
    );
    return users.map((user) => ({ user, pendingRoles: pending.get(user.id) ?? [] }));
  }

  async getUser(id: string): Promise<UserWithGrants> {
    const user = await this.db.getRepository(User).findOneBy({ id });
    if (!user) throw new NotFoundError(IDENTITY_ERRORS.NOT_FOUND, 'User');
    return { user, pendingRoles: (await pendingRolesOf(this.db.manager, [id])).get(id) ?? [] };
  }

  /**
   * Changing roles, disabling, or setting a new password ends every session of that user at once;
   * a move to another organisation or practice also deletes their notices (`USER_NOTICES`).
   * `roles` is the wanted set: governance roles not held become pending grants (refused outright for
   * the administrator's own account), pending grants no longer wanted are withdrawn, the rest
   * applies at once.
   */
  async updateUser(
    actor: Principal,
    id: string,
    dto: UpdateUserDto,
    meta?: RequestMeta,
  ): Promise<UserWithGrants> {
    if (!actor?.id) throw new ForbiddenError();
    if (dto.password) await this.assertPasswordFor(id, dto.password);
    const passwordHash = dto.password ? await this.passwords.hash(dto.password) : undefined;
    let saved: UserWithGrants;
    try {
      saved = await this.db.transaction(async (tx) => {
        const user = await tx
          .getRepository(User)
          .findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
        if (!user) throw new NotFoundError(IDENTITY_ERRORS.NOT_FOUND, 'User');
        const plan = await planUserRoles(tx, user, dto.roles);
        if (plan.fresh.length && actor.id === user.id) throw new SelfRoleGrant(plan.fresh);
        const next = {
          roles: plan.apply,
          organisationId: dto.organisationId === undefined ? user.organisationId : dto.organisationId,
          practiceOds: dto.practiceOds === undefined ? user.practiceOds : dto.practiceOds,
        };
        await checkBindings(tx, next.roles, next.organisationId, next.practiceOds);
        if (actor.id === user.id && (dto.disabled || (dto.roles && !dto.roles.includes('admin')))) {
          throw new ConflictError(
            IDENTITY_ERRORS.CANNOT_DEMOTE_SELF,
            'Administrators cannot disable themselves or remove their own admin role',
          );
        }
        const rolesChanged = [...next.roles].sort().join() !== [...user.roles].sort().join();
        const previousRoles = [...user.roles];
        const bindingChanged =
          next.organisationId !== user.organisationId || next.practiceOds !== user.practiceOds;
        const disabling = dto.disabled === true && !user.disabled;
        Object.assign(
          user,
          next,
          dto.displayName !== undefined ? { displayName: storedName(dto.displayName, 'displayName', 1) } : {},
          dto.disabled !== undefined ? { disabled: dto.disabled } : {},
        );
        if (passwordHash)
          await tx.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
        const saved = await tx.save(user);
        let sessionsEnded = 0;
        if (rolesChanged || bindingChanged || disabling || passwordHash) {
          sessionsEnded = await this.auth.revokeUserSessions(
            tx,
            id,
            disabling ? 'disabled' : passwordHash ? 'password_changed' : 'roles_changed',
          );
        }
        // A move, or a role taken away: the notices are not the user's any more (a notice does not
        // record the role it came by: all go; docs/NOTIFICATIONS.md).
        const rolesLost = previousRoles.some((r) => !saved.roles.includes(r));
        const noticesRemoved =
          bindingChanged || rolesLost ? ((await this.notices?.forgetUserNotices(tx, id)) ?? 0) : 0;
        if (dto.roles) {
          await withdrawGrants(tx, this.audit, actor, id, dto.roles, meta);
          await requestGrants(tx, this.audit, actor, id, plan.fresh, meta);
        }
        const pendingRoles = (await pendingRolesOf(tx, [id])).get(id) ?? [];
        await this.audit.record(
          {
            action: 'user.update',
            actor,
            subjectType: 'user',
            subjectId: id,
            meta,
            details: {
              changed: Object.keys(dto)
                .filter((k) => k !== 'password')
                .concat(passwordHash ? ['password'] : []),
              roles: saved.roles,
              pendingRoles,
              disabled: saved.disabled,
              sessionsEnded,
              ...(bindingChanged || rolesLost ? { noticesRemoved } : {}),
            },
          },
          tx,
        );
        return { user: saved, pendingRoles };
      });
    } catch (e) {
      if (e instanceof SelfRoleGrant) {
        // The refusal outlives the undone transaction: one entry per role asked for.
        for (const role of e.roles)
          await this.audit.record({
            action: 'identity.role_grant_refused',
            outcome: 'denied',
            actor,
            subjectType: 'user',
            subjectId: id,
            meta,
            details: { role, userId: id, requestedBy: actor.id, reason: 'self_grant' },
          });
      }
      throw e;
    }
    // Committed: this process stops reusing the user's session checks before it answers.
    this.auth.forgetUser(id);
    return saved;
  }

  /** A PATCH's password against the user's own email (the body has none); the email never changes. */
  private async assertPasswordFor(id: string, password: string): Promise<void> {
    const user = await this.db
      .getRepository(User)
      .findOne({ where: { id }, select: { id: true, email: true } });
    if (!user) throw new NotFoundError(IDENTITY_ERRORS.NOT_FOUND, 'User');
    await assertPasswordAcceptable(password, user.email);
  }

  /** Grants waiting for a decision, oldest first. */
  listPendingGrants(): Promise<RoleGrant[]> {
    return this.db
      .getRepository(RoleGrant)
      .find({ where: { outcome: 'pending' }, order: { requestedAt: 'ASC', id: 'ASC' } });
  }

  /**
   * A second administrator approves a pending grant: the role applies in the same transaction. The
   * user's row and then the grant's are locked (the order updateUser takes them in), so two
   * approvals at once apply once — the second finds the grant decided — and the user's state is
   * checked as it is now, not as it was when the grant was requested.
   */
  async approveGrant(actor: Principal, grantId: string, meta?: RequestMeta): Promise<RoleGrant> {
    const decided = await this.db.transaction(async (tx) => {
      const { grant, user } = await lockGrant(tx, grantId);
      const refusal = approvalRefusal(grant, actor.id);
      if (refusal)
        throw new ForbiddenError(
          refusal,
          refusal === GRANT_ERRORS.APPROVER_IS_REQUESTER
            ? 'The administrator who requested a role cannot approve it'
            : 'Nobody can approve a role for themselves',
        );
      if (grant.outcome !== 'pending')
        throw new ConflictError(GRANT_ERRORS.NOT_PENDING, `This grant was already ${grant.outcome}`);
      if (user.disabled)
        throw new ConflictError(
          GRANT_ERRORS.GRANTEE_DISABLED,
          'The user is disabled; refuse the grant or enable them first',
        );
      let sessionsEnded = 0;
      if (!user.roles.includes(grant.role)) {
        user.roles = [...user.roles, grant.role];
        await checkBindings(tx, user.roles, user.organisationId, user.practiceOds);
        await tx.save(user);
        sessionsEnded = await this.auth.revokeUserSessions(tx, user.id, 'roles_changed');
      }
      Object.assign(grant, { outcome: 'approved', decidedBy: actor.id, decidedAt: new Date() });
      await tx.save(grant);
      await this.audit.record(
        {
          action: 'identity.role_grant_approved',
          actor,
          subjectType: 'user',
          subjectId: user.id,
          meta,
          details: {
            grantId: grant.id,
            role: grant.role,
            userId: user.id,
            requestedBy: grant.requestedBy,
            roles: user.roles,
            sessionsEnded,
          },
        },
        tx,
      );
      return grant;
    });
    this.auth.forgetUser(decided.userId);
    return decided;
  }

  /** Any administrator may refuse a pending grant (the safe direction), the requester withdrawing it included. */
  async refuseGrant(actor: Principal, grantId: string, meta?: RequestMeta): Promise<RoleGrant> {
    return this.db.transaction(async (tx) => {
      const { grant } = await lockGrant(tx, grantId);
      if (grant.outcome !== 'pending')
        throw new ConflictError(GRANT_ERRORS.NOT_PENDING, `This grant was already ${grant.outcome}`);
      Object.assign(grant, { outcome: 'refused', decidedBy: actor.id, decidedAt: new Date() });
      await tx.save(grant);
      await this.audit.record(
        {
          action: 'identity.role_grant_refused',
          actor,
          subjectType: 'user',
          subjectId: grant.userId,
          meta,
          details: {
            grantId: grant.id,
            role: grant.role,
            userId: grant.userId,
            requestedBy: grant.requestedBy,
            reason: 'refused',
          },
        },
        tx,
      );
      return grant;
    });
  }

  /** The first administrator, from ADMIN_EMAIL/ADMIN_PASSWORD, only when no user exists yet. */
  async ensureFirstAdmin(admin: { email: string; password: string } | undefined): Promise<User | undefined> {
    if (!admin) return undefined;
    const [{ n }] = await this.db.query('SELECT count(*)::int AS n FROM users');
    if (n > 0) return undefined;
    return this.createUser(
      null,
      { email: admin.email, password: admin.password, displayName: 'Administrator', roles: ['admin'] },
      undefined,
      { passwordRules: true },
    );
  }
}
