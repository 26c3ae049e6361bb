import { Body, Get, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ParseUUIDPipe, todayInEngland } from '@custodian/core';
import type { FastifyReply } from 'fastify';
import { PageAccess, PortalController, UploadForm } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalPageError, PortalRedirect } from './portal-errors';
import { PortalViews } from './portal-views';
import { FormBody, formErrors, str } from './form';
import { afterUpload, forwardUpload, NoFileChosen, uploadProblem, uploadRefusal } from './uploads';

interface Practice {
  odsCode: string;
  name: string;
  rollout: string;
  awarenessStartedOn: string | null;
  extractsAcceptedFrom: string | null;
}

const NHS_NUMBER = /^\d{10}$/;

/** Why an extract cannot be sent yet, in words (or undefined when it can). */
export function extractsClosedBecause(p: Practice, today: string): string | undefined {
  if (p.rollout === 'none' || p.rollout === 'pilot_declined')
    return 'Your practice is not yet part of the rollout. The data centre will tell you when it is.';
  if (!p.awarenessStartedOn)
    return 'Record the day you started informing your patients first. Extracts open when the awareness period has passed.';
  if (p.extractsAcceptedFrom && p.extractsAcceptedFrom > today)
    return `Your patients' awareness period ends before ${p.extractsAcceptedFrom}. Extracts open on that day.`;
  return undefined;
}

/**
 * A GP practice's pages: its awareness start and when extracts open, uploading an extract (streamed,
 * with a progress bar) and its report, past extracts, and registering or withdrawing a patient's
 * objection. Every read and write is the API's (the same routes, guards and audit as any client).
 */
@PortalController('practice')
@UseGuards(PortalAuthGuard)
@PageAccess(['practice'])
export class PracticeController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
    private readonly guard: PortalAuthGuard,
  ) {}

  private async practice(req: PortalRequest): Promise<Practice> {
    const [p] = await this.api.expect<Practice[]>(req, 'GET', '/api/practices');
    if (!p)
      throw new PortalPageError(
        404,
        'Your practice was not found',
        'Your account is not linked to a practice the data centre knows. Ask the data centre to check it.',
      );
    return p;
  }

  @Get()
  async overview(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const p = await this.practice(req);
    const today = todayInEngland();
    const [extracts, objections] = await Promise.all([
      this.api.expect<unknown[]>(req, 'GET', `/api/practices/${p.odsCode}/extracts`),
      this.api.expect<unknown>(req, 'GET', '/api/objections/summary'),
    ]);
    this.views.page(req, reply, 'practice/overview.njk', {
      practice: p,
      today,
      closedBecause: extractsClosedBecause(p, today),
      extracts: extracts.slice(0, 5),
      objections,
    });
  }

  /** Records today as the day the practice started informing its patients (it cannot be backdated). */
  @Post('awareness')
  async awareness(@Req() req: PortalRequest) {
    const p = await this.practice(req);
    const today = todayInEngland();
    const res = await this.api.call<{ message?: string }>(
      req,
      'POST',
      `/api/practices/${p.odsCode}/awareness`,
      { startedOn: today },
    );
    if (res.status !== 200) {
      req.portal!.session.flash = {
        title: 'The awareness start was not recorded',
        body: res.body?.message ?? 'Try again later.',
        kind: 'error',
      };
      req.portal!.dirty = true;
      throw new PortalRedirect('/practice');
    }
    req.portal!.session.flash = {
      title: 'Awareness start recorded',
      body: `Recorded as ${today}. Extracts open when the awareness period has passed.`,
    };
    req.portal!.dirty = true;
    throw new PortalRedirect('/practice');
  }

  @Get('extracts')
  async extracts(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const p = await this.practice(req);
    const today = todayInEngland();
    const extracts = await this.api.expect<unknown[]>(req, 'GET', `/api/practices/${p.odsCode}/extracts`);
    const closedBecause = extractsClosedBecause(p, today);
    // No form to send with while extracts are closed (the API would refuse it with 409); a refusal of
    // one sent from an older page still shows, but links to no field.
    const flash = req.portal?.session.flash;
    if (closedBecause && flash?.field) delete flash.field;
    this.views.page(req, reply, 'practice/extracts.njk', {
      practice: p,
      closedBecause,
      extracts,
      uploadError: req.portal?.session.flash?.kind === 'error',
    });
  }

  /** The extract file, streamed to `POST /api/practices/:ods/extracts` as it arrives. */
  @Post('extracts')
  @UploadForm()
  async upload(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const p = await this.practice(req);
    let res;
    try {
      res = await forwardUpload<{
        extractId?: string;
        message?: string;
        code?: string;
        patients?: number;
        resources?: number;
        objections?: number;
        rejectedCount?: number;
      }>(this.guard, this.api, req, `/api/practices/${p.odsCode}/extracts`, 'application/x-ndjson');
    } catch (e) {
      if (!(e instanceof NoFileChosen)) throw e;
      uploadProblem(req, 'Choose the extract file to send (the NDJSON file the extractor wrote)');
      return afterUpload(req, reply, '/practice/extracts');
    }
    if (res.status === 201 && res.body.extractId) {
      // Not "Success" when nothing was stored (a file of junk lines, or an empty one): say what happened.
      const b = res.body;
      const stored = (b.patients ?? 0) + (b.resources ?? 0) + (b.objections ?? 0);
      const refused = b.rejectedCount ?? 0;
      const lines = (n: number) => `${n} line${n === 1 ? ' was' : 's were'} refused`;
      req.portal!.session.flash =
        stored > 0
          ? {
              title: 'Extract received',
              body: refused ? `${lines(refused)}: the report below says why.` : undefined,
            }
          : refused
            ? {
                // Not "nothing from the extract": a file sent again stores nothing new either (the
                // counts are of rows added or changed), and its refused lines are listed again.
                title: 'Nothing new was stored',
                body: `${lines(refused)}: the report below says why. Anything else the file held, the centre already had.`,
                kind: 'warning',
              }
            : {
                title: 'Nothing new was stored',
                body: 'The file held nothing the centre does not already have (or no lines at all).',
                kind: 'warning',
              };
      req.portal!.dirty = true;
      return afterUpload(req, reply, `/practice/extracts/${res.body.extractId}`);
    }
    uploadProblem(
      req,
      uploadRefusal(
        'The extract was not accepted',
        res.body?.message,
        'The data centre could not take the file',
      ),
    );
    return afterUpload(req, reply, '/practice/extracts');
  }

  @Get('extracts/:id')
  async report(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const report = await this.api.expect<Record<string, unknown>>(req, 'GET', `/api/extracts/${id}`);
    // When it was sent (the practice's list has it): the page's heading and title say which extract.
    const p = await this.practice(req);
    const list = await this.api.call<{ extractId: string; createdAt: string }[]>(
      req,
      'GET',
      `/api/practices/${p.odsCode}/extracts`,
    );
    const sentAt = Array.isArray(list.body)
      ? list.body.find((e) => e.extractId === id)?.createdAt
      : undefined;
    this.views.page(req, reply, 'practice/extract-report.njk', {
      report,
      sentAt,
      backHref: '/practice/extracts',
    });
  }

  @Get('objections')
  async objections(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    await this.renderObjections(req, reply, {}, formErrors());
  }

  private async renderObjections(
    req: PortalRequest,
    reply: FastifyReply,
    values: Record<string, unknown>,
    errors: ReturnType<typeof formErrors>,
    status = 200,
  ) {
    const summary = await this.api.expect<unknown>(req, 'GET', '/api/objections/summary');
    this.views.page(
      req,
      reply,
      'practice/objections.njk',
      { summary, values, errors: errors.list, fieldErrors: errors.byField },
      status,
    );
  }

  /** `POST /api/objections`: the API decides who may withdraw what, and answers alike when not. */
  @Post('objections')
  async recordObjection(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Body() body: FormBody) {
    const nhsNumber = str(body.nhsNumber).replace(/\s+/g, '');
    const type = str(body.type);
    const action = str(body.action);
    const errors = formErrors();
    if (!nhsNumber) errors.add('nhsNumber', 'Enter the patient’s NHS number');
    else if (!NHS_NUMBER.test(nhsNumber))
      errors.add('nhsNumber', 'Enter the NHS number as 10 digits, for example 943 476 5919');
    if (!['type1', 'type2'].includes(type)) errors.add('type', 'Select the type of objection', 'type');
    if (!['register', 'withdraw'].includes(action))
      errors.add('action', 'Select whether to register or withdraw it', 'action');
    const values = { nhsNumber: str(body.nhsNumber), type, action };
    if (errors.any()) return this.renderObjections(req, reply, values, errors, 400);
    const res = await this.api.call<{ message?: string; code?: string; active?: boolean }>(
      req,
      'POST',
      '/api/objections',
      { nhsNumber, type, action },
    );
    if (res.status === 201) {
      const what = type === 'type1' ? 'Type 1' : 'Type 2';
      req.portal!.session.flash = {
        title: action === 'register' ? `${what} objection registered` : `${what} objection withdrawn`,
        body: res.body.active
          ? `The patient now has an active ${what} objection.`
          : `The patient has no active ${what} objection now.`,
      };
      req.portal!.dirty = true;
      throw new PortalRedirect('/practice/objections');
    }
    if (res.status === 400) errors.add('nhsNumber', 'Enter a valid NHS number (the check digit is wrong)');
    else if (res.status === 404)
      errors.add(
        'nhsNumber',
        'There is no active objection of this type that your practice may withdraw for this NHS number',
      );
    else errors.add('nhsNumber', res.body?.message ?? 'The objection could not be recorded. Try again.');
    return this.renderObjections(req, reply, values, errors, res.status === 429 ? 429 : 400);
  }
}
