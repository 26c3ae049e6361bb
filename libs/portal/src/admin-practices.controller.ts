import { Body, Get, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalRedirect } from './portal-errors';
import { PortalViews } from './portal-views';
import { apiFieldError, FormBody, formErrors, str } from './form';
import { PATTERNS } from './patterns';
import { type ApiError, type Errors, flash, label } from './admin-pages';

const ROLLOUTS = ['none', 'pilot', 'pilot_declined', 'national'];
const ROLLOUT_NEXT: Record<string, string[]> = {
  none: ['pilot', 'pilot_declined', 'national'],
  pilot_declined: ['national'],
  pilot: ['national'],
  national: [],
};
const ODS = PATTERNS.odsCode;

interface Practice {
  odsCode: string;
  name: string;
  rollout: string;
}

/**
 * The administrator's practices pages: create, move through the rollout, national rollout (with a
 * confirmation step first). Every change is the API's own (its rules and audit).
 */
@PortalController('admin')
@UseGuards(PortalAuthGuard)
@PageAccess(['admin'])
export class AdminPracticesController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
  ) {}

  @Get('practices')
  async practices(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    await this.renderPractices(req, reply, {}, formErrors());
  }

  private async renderPractices(
    req: PortalRequest,
    reply: FastifyReply,
    values: Record<string, string>,
    errors: Errors,
    status = 200,
  ) {
    const practices = await this.api.expect<Practice[]>(req, 'GET', '/api/practices');
    this.views.page(
      req,
      reply,
      'operations/admin-practices.njk',
      {
        practices: practices.map((p) => ({
          ...p,
          next: (ROLLOUT_NEXT[p.rollout] ?? []).map((r) => ({ value: r, text: label(r) })),
        })),
        movable: practices.filter((p) => p.rollout === 'none' || p.rollout === 'pilot_declined').length,
        values,
        errors: errors.list,
        fieldErrors: errors.byField,
        rolloutOptions: ROLLOUTS.map((r) => ({
          value: r,
          text: label(r),
          selected: (values.rollout || 'none') === r,
        })),
      },
      status,
    );
  }

  @Post('practices')
  async createPractice(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Body() body: FormBody) {
    const values = {
      odsCode: str(body.odsCode).toUpperCase(),
      name: str(body.name),
      rollout: str(body.rollout) || 'none',
    };
    const errors = formErrors();
    if (!ODS.test(values.odsCode))
      errors.add('odsCode', 'Enter the ODS code as a letter and five digits, like A81001');
    if (!values.name) errors.add('name', 'Enter the practice’s name');
    else if (values.name.length < 2) errors.add('name', 'Enter a name of at least 2 characters');
    if (!ROLLOUTS.includes(values.rollout)) errors.add('rollout', 'Choose a rollout state');
    if (!errors.any()) {
      const res = await this.api.call<ApiError>(req, 'POST', '/api/practices', values);
      if (res.status === 201) {
        flash(req, `${values.name} (${values.odsCode}) added`);
        throw new PortalRedirect('/admin/practices');
      }
      const e = apiFieldError(
        res.body?.message,
        { odsCode: 'odsCode', name: 'name', rollout: 'rollout' },
        'odsCode',
        'The practice could not be added',
      );
      errors.add(e.field, e.text);
    }
    return this.renderPractices(req, reply, values, errors, 400);
  }

  @Post('practices/:ods/rollout')
  async moveRollout(@Req() req: PortalRequest, @Param('ods') ods: string, @Body() body: FormBody) {
    const rollout = str(body.rollout);
    if (!ODS.test(ods) || !ROLLOUTS.includes(rollout)) throw new PortalRedirect('/admin/practices');
    const res = await this.api.call<ApiError>(req, 'PATCH', `/api/practices/${ods}`, { rollout });
    if (res.status === 200) flash(req, `${ods} moved to ${label(rollout).toLowerCase()}`);
    else
      req.portal!.session.flash = {
        title: `${ods} was not moved`,
        body: res.body?.message,
        kind: 'error',
      };
    req.portal!.dirty = true;
    throw new PortalRedirect('/admin/practices');
  }

  @Get('practices/national-rollout')
  async confirmNationalRollout(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const practices = await this.api.expect<Practice[]>(req, 'GET', '/api/practices');
    const n = practices.filter((p) => p.rollout === 'none' || p.rollout === 'pilot_declined').length;
    this.views.page(req, reply, 'operations/admin-confirm.njk', {
      heading: 'Start the national rollout?',
      text: `${n} ${n === 1 ? 'practice' : 'practices'} not yet rolled out (or that declined the pilot) will move to national. Their extracts are accepted once each has recorded its awareness start and the awareness period has passed. This cannot be undone.`,
      action: '/admin/practices/national-rollout',
      hidden: {},
      buttonText: 'Start the national rollout',
      warning: true,
      backHref: '/admin/practices',
    });
  }

  @Post('practices/national-rollout')
  async nationalRollout(@Req() req: PortalRequest) {
    const res = await this.api.expect<{ moved: number }>(req, 'POST', '/api/practices/national-rollout');
    flash(req, 'National rollout started', `${res.moved} practices moved to national.`);
    throw new PortalRedirect('/admin/practices');
  }
}
