import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { AuthService, PasswordService } from '@custodian/auth';
import {
  ConflictError,
  NotFoundError,
  Principal,
  RequestMeta,
  ValidationError,
  type Role,
} from '@custodian/core';
import { CreateOrganisationDto, CreateUserDto, OrganisationDto, UpdateUserDto, UserDto } from './dto';
import { Organisation } from './organisation.entity';
import { User } from './user.entity';

export const toOrganisationResponse = (o: Organisation): OrganisationDto => ({
  id: o.id,
  name: o.name,
  kind: o.kind,
  createdAt: o.createdAt,
});
export const toUserResponse = (u: User): UserDto => ({
  id: u.id,
  email: u.email,
  displayName: u.displayName,
  roles: u.roles,
  organisationId: u.organisationId,
  practiceOds: u.practiceOds,
  disabled: u.disabled,
  createdAt: u.createdAt,
});

const isUniqueViolation = (e: unknown, constraint: string) =>
  (e as { driverError?: { code?: string; constraint?: string } }).driverError?.code === '23505' &&
  (e as { driverError?: { constraint?: string } }).driverError?.constraint === constraint;

/** Organisations and users. Role bindings (practice → ODS code, researcher → organisation) are enforced here and in the schema. */
@Injectable()
export class IdentityService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly passwords: PasswordService,
    private readonly auth: AuthService,
    private readonly audit: AuditService,
  ) {}

  async createOrganisation(
    actor: Principal | null,
    dto: CreateOrganisationDto,
    meta?: RequestMeta,
  ): Promise<Organisation> {
    try {
      return await this.db.transaction(async (tx) => {
        const org = await tx.save(tx.create(Organisation, { name: dto.name.trim(), kind: dto.kind }));
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
      if (isUniqueViolation(e, 'organisations_name_unique'))
        throw new ConflictError('ORGANISATION_EXISTS', 'An organisation with this name already exists');
      throw e;
    }
  }

  listOrganisations(): Promise<Organisation[]> {
    return this.db.getRepository(Organisation).find({ order: { name: 'ASC' } });
  }

  async getOrganisation(id: string): Promise<Organisation> {
    const org = await this.db.getRepository(Organisation).findOneBy({ id });
    if (!org) throw new NotFoundError('Organisation');
    return org;
  }

  async createUser(actor: Principal | null, dto: CreateUserDto, meta?: RequestMeta): Promise<User> {
    const email = dto.email.trim().toLowerCase();
    await this.checkBindings(dto.roles, dto.organisationId ?? null, dto.practiceOds ?? null);
    const passwordHash = await this.passwords.hash(dto.password);
    try {
      return await this.db.transaction(async (tx) => {
        const user = await tx.save(
          tx.create(User, {
            email,
            passwordHash,
            displayName: dto.displayName,
            roles: dto.roles,
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
              organisationId: user.organisationId,
              practiceOds: user.practiceOds,
            },
          },
          tx,
        );
        return user;
      });
    } catch (e) {
      if (isUniqueViolation(e, 'users_email_unique'))
        throw new ConflictError('EMAIL_TAKEN', 'A user with this email already exists');
      throw e;
    }
  }

  listUsers(organisationId?: string): Promise<User[]> {
    return this.db
      .getRepository(User)
      .find({ where: organisationId ? { organisationId } : {}, order: { email: 'ASC' } });
  }

  async getUser(id: string): Promise<User> {
    const user = await this.db.getRepository(User).findOneBy({ id });
    if (!user) throw new NotFoundError('User');
    return user;
  }

  /** Changing roles, disabling, or setting a new password ends every session of that user at once. */
  async updateUser(actor: Principal, id: string, dto: UpdateUserDto, meta?: RequestMeta): Promise<User> {
    const passwordHash = dto.password ? await this.passwords.hash(dto.password) : undefined;
    const saved = await this.db.transaction(async (tx) => {
      const user = await tx
        .getRepository(User)
        .findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new NotFoundError('User');
      const next = {
        roles: dto.roles ?? user.roles,
        organisationId: dto.organisationId === undefined ? user.organisationId : dto.organisationId,
        practiceOds: dto.practiceOds === undefined ? user.practiceOds : dto.practiceOds,
      };
      await this.checkBindings(next.roles, next.organisationId, next.practiceOds, tx);
      if (actor.id === user.id && (dto.disabled || (dto.roles && !dto.roles.includes('admin')))) {
        throw new ConflictError(
          'CANNOT_DEMOTE_SELF',
          'Administrators cannot disable themselves or remove their own admin role',
        );
      }
      const rolesChanged =
        dto.roles !== undefined && [...dto.roles].sort().join() !== [...user.roles].sort().join();
      const bindingChanged =
        next.organisationId !== user.organisationId || next.practiceOds !== user.practiceOds;
      const disabling = dto.disabled === true && !user.disabled;
      Object.assign(
        user,
        next,
        dto.displayName !== undefined ? { displayName: dto.displayName } : {},
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
            disabled: saved.disabled,
            sessionsEnded,
          },
        },
        tx,
      );
      return saved;
    });
    // Committed: this process stops reusing the user's session checks before it answers.
    this.auth.forgetUser(id);
    return saved;
  }

  /** The first administrator, from ADMIN_EMAIL/ADMIN_PASSWORD, only when no user exists yet. */
  async ensureFirstAdmin(admin: { email: string; password: string } | undefined): Promise<User | undefined> {
    if (!admin) return undefined;
    const [{ n }] = await this.db.query('SELECT count(*)::int AS n FROM users');
    if (n > 0) return undefined;
    return this.createUser(null, {
      email: admin.email,
      password: admin.password,
      displayName: 'Administrator',
      roles: ['admin'],
    });
  }

  private async checkBindings(
    roles: Role[],
    organisationId: string | null,
    practiceOds: string | null,
    em: EntityManager = this.db.manager,
  ): Promise<void> {
    if (roles.includes('practice') && !practiceOds)
      throw new ValidationError(
        'a practice user must be bound to a practice (practiceOds)',
        'PRACTICE_BINDING_REQUIRED',
      );
    if (!roles.includes('practice') && practiceOds)
      throw new ValidationError('practiceOds is only for practice users', 'PRACTICE_BINDING_NOT_ALLOWED');
    if (roles.includes('researcher') && !organisationId)
      throw new ValidationError(
        'a researcher must belong to an organisation (organisationId)',
        'ORGANISATION_REQUIRED',
      );
    if (organisationId && !(await em.getRepository(Organisation).existsBy({ id: organisationId }))) {
      throw new ValidationError(
        'organisationId does not name an existing organisation',
        'UNKNOWN_ORGANISATION',
      );
    }
  }
}
