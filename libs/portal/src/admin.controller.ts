import { Body, Get, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ROLES, ParseUUIDPipe } from '@custodian/core';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalRedirect, PortalPageError } from './portal-errors';
import { PortalViews } from './portal-views';
import { all, apiFieldError, FormBody, formErrors, str } from './form';

/** The user form's fields by the API's property names (apiFieldError). */
const USER_FIELDS: Record<string, string> = {
  email: 'email',
  password: 'password',
  displayName: 'displayName',
  roles: 'roles',
  organisationId: 'organisationId',
  practiceOds: 'practiceOds',
};
import { PATTERNS } from './patterns';
import { type ApiError, type Errors, flash, label } from './admin-pages';

const ORGANISATION_KINDS = ['academic', 'nhs', 'commercial', 'charity', 'public_body'];
const ODS = PATTERNS.odsCode;
const UUID = PATTERNS.uuid;

interface Organisation {
  id: string;
  name: string;
  kind: string;
}
interface User {
  id: string;
  email: string;
  displayName: string;
  roles: string[];
  pendingRoles: string[];
  organisationId: string | null;
  practiceOds: string | null;
  disabled: boolean;
}

/**
 * The administrator's pages: organisations and users (create, roles, disable, move organisation or
 * practice, governance role grants); the practices' pages are admin-practices.controller.ts. Every change
 * is the API's own (its confirmation rules, two-person grants and audit); the pages add a
 * confirmation step before disabling an account and before the national rollout.
 */
@PortalController('admin')
@UseGuards(PortalAuthGuard)
@PageAccess(['admin'])
export class AdminController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
  ) {}

  // ---- organisations

  @Get('organisations')
  async organisations(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    await this.renderOrganisations(req, reply, {}, formErrors());
  }

  private async renderOrganisations(
    req: PortalRequest,
    reply: FastifyReply,
    values: Record<string, string>,
    errors: Errors,
    status = 200,
  ) {
    const organisations = await this.api.expect<Organisation[]>(req, 'GET', '/api/organisations');
    this.views.page(
      req,
      reply,
      'operations/admin-organisations.njk',
      {
        organisations,
        values,
        errors: errors.list,
        fieldErrors: errors.byField,
        kindOptions: [
          { value: '', text: 'Choose a kind' },
          ...ORGANISATION_KINDS.map((k) => ({ value: k, text: label(k), selected: values.kind === k })),
        ],
      },
      status,
    );
  }

  @Post('organisations')
  async createOrganisation(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Body() body: FormBody) {
    const values = { name: str(body.name), kind: str(body.kind) };
    const errors = formErrors();
    if (values.name.length < 2) errors.add('name', 'Enter the organisation’s name');
    if (!ORGANISATION_KINDS.includes(values.kind)) errors.add('kind', 'Choose the kind of organisation');
    if (!errors.any()) {
      const res = await this.api.call<ApiError>(req, 'POST', '/api/organisations', values);
      if (res.status === 201) {
        flash(req, `${values.name} added`);
        throw new PortalRedirect('/admin/organisations');
      }
      const e = apiFieldError(
        res.body?.message,
        { name: 'name', kind: 'kind' },
        'name',
        'The organisation could not be added',
      );
      errors.add(e.field, e.text);
    }
    return this.renderOrganisations(req, reply, values, errors, 400);
  }

  // ---- users

  @Get('users')
  async users(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const [users, organisations, grants] = await Promise.all([
      this.api.expect<User[]>(req, 'GET', '/api/users'),
      this.api.expect<Organisation[]>(req, 'GET', '/api/organisations'),
      this.api.expect<
        { id: string; userId: string; role: string; requestedAt: string; requestedBy: string }[]
      >(req, 'GET', '/api/role-grants'),
    ]);
    const orgName = new Map(organisations.map((o) => [o.id, o.name]));
    const email = new Map(users.map((u) => [u.id, u.email]));
    this.views.page(req, reply, 'operations/admin-users.njk', {
      users: users.map((u) => ({
        ...u,
        organisation: u.organisationId ? orgName.get(u.organisationId) : '',
      })),
      // A grant this administrator asked for is another's to approve (the API refuses): no Approve.
      grants: grants.map((g) => ({
        ...g,
        email: email.get(g.userId) ?? g.userId,
        mine: g.requestedBy === req.portal?.session.auth?.user.id,
      })),
    });
  }

  @Get('users/new')
  async newUser(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    await this.renderUserForm(req, reply, undefined, { roles: [] }, formErrors());
  }

  @Get('users/:id')
  async editUser(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const user = await this.api.expect<User>(req, 'GET', `/api/users/${id}`);
    await this.renderUserForm(
      req,
      reply,
      user,
      {
        displayName: user.displayName,
        // A role waiting for approval is ticked: saving the page keeps it waiting, and unticking it is
        // how it is withdrawn (unticked, any save withdrew it in the editing admin's name: probe 21).
        roles: [...user.roles, ...user.pendingRoles],
        organisationId: user.organisationId ?? '',
        practiceOds: user.practiceOds ?? '',
      },
      formErrors(),
    );
  }

  private async renderUserForm(
    req: PortalRequest,
    reply: FastifyReply,
    user: User | undefined,
    values: Record<string, unknown>,
    errors: Errors,
    status = 200,
  ) {
    const organisations = await this.api.expect<Organisation[]>(req, 'GET', '/api/organisations');
    const roles = (values.roles as string[]) ?? [];
    this.views.page(
      req,
      reply,
      'operations/admin-user.njk',
      {
        editing: user,
        // An administrator cannot disable their own account (the API refuses it): not offered.
        own: user !== undefined && user.id === req.portal?.session.auth?.user.id,
        values,
        errors: errors.list,
        fieldErrors: errors.byField,
        backHref: '/admin/users',
        roleItems: ROLES.map((r) => ({
          value: r,
          text: label(r),
          checked: roles.includes(r),
          hint: user?.pendingRoles.includes(r)
            ? { text: 'Waiting for a second administrator’s approval' }
            : undefined,
        })),
        organisationOptions: [
          { value: '', text: 'None' },
          ...organisations.map((o) => ({
            value: o.id,
            text: `${o.name} (${label(o.kind)})`,
            selected: values.organisationId === o.id,
          })),
        ],
      },
      status,
    );
  }

  private readUserForm(body: FormBody, creating: boolean, errors: Errors) {
    const values = {
      email: str(body.email),
      displayName: str(body.displayName),
      password: typeof body.password === 'string' ? body.password : '',
      roles: all(body.roles).filter((r) => (ROLES as readonly string[]).includes(r)),
      organisationId: str(body.organisationId),
      practiceOds: str(body.practiceOds).toUpperCase(),
    };
    // In the page's order (email, name, password), so the error summary reads as the form does.
    if (creating && (!values.email || !PATTERNS.email.test(values.email)))
      errors.add('email', 'Enter an email address in the correct format, like name@example.org');
    if (!values.displayName) errors.add('displayName', 'Enter the person’s name');
    if (creating) {
      if (values.password.length < 12) errors.add('password', 'Enter a password of at least 12 characters');
    } else if (values.password && values.password.length < 12)
      errors.add('password', 'Enter a password of at least 12 characters, or leave it empty');
    if (!values.roles.length) errors.add('roles', 'Choose at least one role', 'roles');
    if (values.organisationId && !UUID.test(values.organisationId))
      errors.add('organisationId', 'Choose an organisation from the list');
    if (values.practiceOds && !ODS.test(values.practiceOds))
      errors.add('practiceOds', 'Enter the ODS code as a letter and five digits, like A81001');
    return values;
  }

  @Post('users/new')
  async createUser(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Body() body: FormBody) {
    const errors = formErrors();
    const v = this.readUserForm(body, true, errors);
    if (!errors.any()) {
      const dto: Record<string, unknown> = {
        email: v.email,
        password: v.password,
        displayName: v.displayName,
        roles: v.roles,
      };
      if (v.organisationId) dto.organisationId = v.organisationId;
      if (v.practiceOds) dto.practiceOds = v.practiceOds;
      const res = await this.api.call<User & ApiError>(req, 'POST', '/api/users', dto);
      if (res.status === 201) {
        flash(
          req,
          `${v.email} created`,
          res.body.pendingRoles?.length
            ? `Governance roles (${res.body.pendingRoles.map(label).join(', ')}) wait for a second administrator’s approval.`
            : undefined,
        );
        throw new PortalRedirect('/admin/users');
      }
      const e = apiFieldError(
        res.body?.message,
        USER_FIELDS,
        res.status === 409 ? 'email' : 'roles',
        'The user could not be created',
      );
      errors.add(e.field, e.text, e.field === 'roles' ? 'roles' : undefined);
    }
    return this.renderUserForm(req, reply, undefined, { ...v, password: '' }, errors, 400);
  }

  @Post('users/:id')
  async updateUser(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: FormBody,
  ) {
    const user = await this.api.expect<User>(req, 'GET', `/api/users/${id}`);
    const errors = formErrors();
    const v = this.readUserForm(body, false, errors);
    if (!errors.any()) {
      const dto: Record<string, unknown> = {
        displayName: v.displayName,
        roles: v.roles,
        organisationId: v.organisationId || null,
        practiceOds: v.practiceOds || null,
      };
      if (v.password) dto.password = v.password;
      const res = await this.api.call<User & ApiError>(req, 'PATCH', `/api/users/${id}`, dto);
      if (res.status === 200) {
        const after = [...(res.body.roles ?? []), ...(res.body.pendingRoles ?? [])];
        const withdrawn = user.pendingRoles.filter((r) => !after.includes(r));
        const said = [
          res.body.pendingRoles?.length
            ? `Governance roles (${res.body.pendingRoles.map(label).join(', ')}) wait for a second administrator’s approval.`
            : '',
          withdrawn.length ? `Withdrawn before approval: ${withdrawn.map(label).join(', ')}.` : '',
        ].filter(Boolean);
        flash(req, `${user.email} updated`, said.length ? said.join(' ') : undefined);
        throw new PortalRedirect('/admin/users');
      }
      const e = apiFieldError(res.body?.message, USER_FIELDS, 'roles', 'The user could not be updated');
      errors.add(e.field, e.text, e.field === 'roles' ? 'roles' : undefined);
    }
    return this.renderUserForm(req, reply, user, { ...v, password: '' }, errors, 400);
  }

  /** Disabling (or enabling) an account asks for confirmation first. */
  @Get('users/:id/access')
  async confirmAccess(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const user = await this.api.expect<User>(req, 'GET', `/api/users/${id}`);
    if (user.id === req.portal?.session.auth?.user.id)
      throw new PortalPageError(
        409,
        'You cannot disable your own account',
        'Another administrator can disable it. Administrators cannot disable themselves or remove their own admin role.',
      );
    this.views.page(req, reply, 'operations/admin-confirm.njk', {
      heading: user.disabled ? `Enable ${user.email}?` : `Disable ${user.email}?`,
      text: user.disabled
        ? 'The person will be able to sign in again with their password.'
        : 'The person is signed out everywhere at once and cannot sign in until an administrator enables the account again. The change is on the audit trail.',
      action: `/admin/users/${id}/access`,
      hidden: { disabled: user.disabled ? 'false' : 'true' },
      buttonText: user.disabled ? 'Enable the account' : 'Disable the account',
      warning: !user.disabled,
      backHref: `/admin/users/${id}`,
    });
  }

  @Post('users/:id/access')
  async setAccess(@Req() req: PortalRequest, @Param('id', ParseUUIDPipe) id: string, @Body() body: FormBody) {
    const disabled = str(body.disabled) === 'true';
    const res = await this.api.call<User & ApiError>(req, 'PATCH', `/api/users/${id}`, { disabled });
    if (res.status === 200) flash(req, `${res.body.email} ${disabled ? 'disabled' : 'enabled'}`);
    else
      req.portal!.session.flash = {
        title: 'The account was not changed',
        body: res.body?.message,
        kind: 'error',
      };
    req.portal!.dirty = true;
    throw new PortalRedirect('/admin/users');
  }

  @Post('role-grants/:id/:decision')
  async decideGrant(
    @Req() req: PortalRequest,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('decision') decision: string,
  ) {
    if (decision !== 'approve' && decision !== 'refuse') throw new PortalRedirect('/admin/users');
    const res = await this.api.call<ApiError>(req, 'POST', `/api/role-grants/${id}/${decision}`);
    if (res.status === 200 || res.status === 201)
      flash(req, decision === 'approve' ? 'Role approved' : 'Role refused');
    else
      req.portal!.session.flash = {
        title: 'The role was not changed',
        body: res.body?.message,
        kind: 'error',
      };
    req.portal!.dirty = true;
    throw new PortalRedirect('/admin/users');
  }
}
