import { MAX_EMAIL, PATTERNS } from './patterns';
import { Body, Get, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { UseGuards } from '@nestjs/common';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest, safeNext } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalRedirect } from './portal-errors';
import { capabilitiesFor, PortalViews } from './portal-views';
import { FormBody, formErrors, isCalendarDate, str } from './form';
import { newCsrfToken } from './session-cookie';
import { humaniseText } from './views';
import { TIERS } from './columns';
import { IdentityService } from '@custodian/identity';

/** The datasets in words, for people reading the register. */
export const DATASET_NAMES: Record<string, string> = {
  gp: 'GP records',
  hes: 'hospital episodes (HES)',
  social_care: 'social care',
};
const LEGAL_BASES = ['consent', 's251', 'public_health_emergency', 'statutory', 'none'];
const label = (s: string) => (s.charAt(0).toUpperCase() + s.slice(1)).replace(/_/g, ' ');

/** The governance roles still waiting for a second administrator, in words (undefined when none). */
export function pendingRolesNotice(roles: readonly string[]): string | undefined {
  if (!roles.length) return undefined;
  const names = roles.map((r) => humaniseText(r).toLowerCase());
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0];
  const [wait, pages] = names.length > 1 ? ['roles wait', 'those roles'] : ['role waits', 'that role'];
  return `Your ${list} ${wait} for a second administrator's approval. Until then the pages of ${pages} are not open to you.`;
}

/** Start page, sign-in and sign-out, and the public register. */
@PortalController()
@UseGuards(PortalAuthGuard)
export class PortalPublicController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
    private readonly identity: IdentityService,
  ) {}

  /**
   * The start page: what the signed-in user's roles let them do, and the governance roles asked for
   * them that still wait for a second administrator (read from the store at each visit: a user whose
   * only role waits would otherwise see the public register and no word why).
   */
  @Get()
  @PageAccess('public')
  async home(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const user = req.portal?.session.auth?.user;
    // A session of a user the store no longer has shows no notice (the guard ends it on its next call).
    const pending = user
      ? await this.identity.getUser(user.id).then(
          (u) => u.pendingRoles,
          () => [],
        )
      : [];
    this.views.page(req, reply, 'home.njk', {
      capabilities: capabilitiesFor(user?.roles ?? []),
      pendingNotice: pendingRolesNotice(pending),
    });
  }

  @Get('sign-in')
  @PageAccess('public')
  signInPage(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Query('next') next?: string) {
    this.views.page(req, reply, 'sign-in.njk', { values: {}, fieldErrors: {}, next: safeNext(next) });
  }

  @Post('sign-in')
  @PageAccess('public')
  async signIn(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Body() body: FormBody,
    @Query('next') next?: string,
  ) {
    const email = str(body.email);
    const password = typeof body.password === 'string' ? body.password : '';
    const errors = formErrors();
    if (!email) errors.add('email', 'Enter your email address');
    else if (email.length > MAX_EMAIL || !PATTERNS.email.test(email))
      errors.add('email', 'Enter an email address in the correct format, like name@example.org');
    if (!password) errors.add('password', 'Enter your password');
    if (!errors.any()) {
      const res = await this.api.anonymous<{
        accessToken: string;
        refreshToken: string;
        expiresIn: number;
        code?: string;
      }>(req, 'POST', '/api/auth/login', { email, password });
      if (res.status === 200) {
        const who = await this.whoAmI(req, res.body.accessToken);
        // A fresh session (and CSRF token) at sign-in: nothing from before it carries over.
        req.portal!.session = {
          csrf: newCsrfToken(),
          exp: Math.floor(Date.now() / 1000) + 12 * 3600,
          auth: {
            accessToken: res.body.accessToken,
            refreshToken: res.body.refreshToken,
            accessExp: Math.floor(Date.now() / 1000) + res.body.expiresIn,
            user: who,
          },
        };
        req.portal!.dirty = true;
        throw new PortalRedirect(safeNext(next) === '/' ? landingPage(who.roles) : safeNext(next));
      }
      if (res.status === 429) {
        // The API's wait grows with each failure (a second at first), so say how long it is.
        const wait = Number(res.headers['retry-after']) || 60;
        const span = wait < 90 ? `${wait} second${wait === 1 ? '' : 's'}` : `${Math.ceil(wait / 60)} minutes`;
        errors.add('email', `Too many failed attempts. Wait ${span}, then try again.`);
      } else errors.add('email', 'The email address or password is not correct');
    }
    this.views.page(
      req,
      reply,
      'sign-in.njk',
      { values: { email }, fieldErrors: errors.byField, errors: errors.list, next: safeNext(next) },
      errors.any() ? 400 : 200,
    );
  }

  private async whoAmI(req: PortalRequest, token: string) {
    const { body: me } = await this.api.withToken<{
      id: string;
      email: string;
      roles: string[];
      organisationId: string | null;
    }>(req, token, 'GET', '/api/auth/me');
    return { id: me.id, email: me.email, roles: me.roles, organisationId: me.organisationId };
  }

  @Get('sign-out')
  @PageAccess('signed-in')
  signOutPage(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    this.views.page(req, reply, 'sign-out.njk');
  }

  @Post('sign-out')
  @PageAccess('signed-in')
  async signOut(@Req() req: PortalRequest) {
    // Revokes the API session (the refresh-token family) too, not just the cookie.
    await this.api.call(req, 'POST', '/api/auth/logout');
    req.portal!.session = {
      csrf: newCsrfToken(),
      exp: Math.floor(Date.now() / 1000) + 12 * 3600,
      flash: { title: 'You have signed out' },
    };
    req.portal!.dirty = true;
    throw new PortalRedirect('/');
  }

  @Get('public-register')
  @PageAccess('public')
  async register(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Query() q: Record<string, string>) {
    const filters = {
      organisation: str(q.organisation),
      tier: str(q.tier),
      legalBasis: str(q.legalBasis),
      from: str(q.from),
      to: str(q.to),
    };
    const errors = formErrors();
    if (filters.tier && !(TIERS as readonly string[]).includes(filters.tier))
      errors.add('tier', 'Choose a tier from the list');
    if (filters.legalBasis && !LEGAL_BASES.includes(filters.legalBasis))
      errors.add('legalBasis', 'Choose a legal basis from the list');
    if (filters.from && !isCalendarDate(filters.from))
      errors.add('from', 'Enter the from date as a real date YYYY-MM-DD, for example 2026-01-31');
    if (filters.to && !isCalendarDate(filters.to))
      errors.add('to', 'Enter the to date as a real date YYYY-MM-DD, for example 2026-12-31');
    // A reversed range is a mistake to point out, not a question whose answer is "nothing".
    if (filters.from && filters.to && !errors.any() && filters.from > filters.to)
      errors.add('to', 'The to date must be the same as or after the from date');
    const params = new URLSearchParams(
      Object.entries(filters).filter(([k, v]) => v && !errors.byField[k]) as [string, string][],
    );
    // A filter in error answers with the error alone, never with lines it did not ask for.
    const res = errors.any()
      ? undefined
      : await this.api.anonymous<unknown[]>(req, 'GET', `/api/register?${params}`);
    const lines = res?.status === 200 && Array.isArray(res.body) ? res.body : [];
    const csvParams = new URLSearchParams(params);
    csvParams.set('format', 'csv');
    this.views.page(
      req,
      reply,
      'public-register.njk',
      {
        filters,
        lines,
        errors: errors.list,
        fieldErrors: errors.byField,
        csvHref: `/api/register?${csvParams}`,
        datasetNames: DATASET_NAMES,
        tierOptions: [
          { value: '', text: 'Any tier' },
          ...TIERS.map((t) => ({ value: t, text: label(t), selected: filters.tier === t })),
        ],
        legalBasisOptions: [
          { value: '', text: 'Any legal basis' },
          ...LEGAL_BASES.map((b) => ({ value: b, text: label(b), selected: filters.legalBasis === b })),
        ],
      },
      errors.any() ? 400 : 200,
    );
  }
}

/** Where each role starts after signing in. */
export function landingPage(roles: readonly string[]): string {
  // Several roles: the start page, which lists what each of them can do.
  if (roles.length > 1) return '/';
  if (roles.includes('researcher')) return '/requests';
  if (roles.includes('release_officer')) return '/screening';
  if (roles.includes('panel_member')) return '/panel';
  if (roles.includes('practice')) return '/practice';
  if (roles.includes('data_manager')) return '/data-loads';
  if (roles.includes('admin')) return '/admin/users';
  if (roles.includes('auditor')) return '/audit-trail';
  return '/';
}
