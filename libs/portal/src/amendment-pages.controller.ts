import { Body, Get, Param, ParseIntPipe, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ParseUUIDPipe } from '@custodian/core';
import type { FastifyReply } from 'fastify';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { ApiCallError, PortalRedirect } from './portal-errors';
import { readVoteForm, voteBody } from './vote-form';
import { PortalViews } from './portal-views';
import { all, FormBody, formErrors, str } from './form';
import { Bid, BidEvent, getBid, getCatalog, getOwnBid, returnRemarks } from './bids-api';
import { AuditService } from '@custodian/audit';
import { notNow } from './refusals';
import {
  auditOwnRefusal,
  isAdministrator,
  keptText,
  ofApplicant,
  OWN_ORGANISATION,
  voteRefusal,
} from './own-organisation';
import { cohortEditable, cohortValues, readCohort, sameCohort } from './request-form';
import { AMENDABLE_BID_STATES } from '@custodian/bids';
import { diffRows, getAmendment, reviewerPage } from './amendment-view';

const pending = (bid: Bid) => bid.pendingAmendment ?? null;

/** The researcher amends an approved or active request (a form pre-filled with the version in force). */
/** What the API answers a vote on an amendment. */
type AmendmentVoted = { counted: number; quorum: number; amendmentState: string; message?: string };
/** Amendment states the applicant may withdraw from (amendment-state.ts). */
const WITHDRAWABLE = ['draft', 'submitted', 'returned', 'in_review', 'approved'];

@PortalController('requests')
@UseGuards(PortalAuthGuard)
@PageAccess(['researcher'])
export class ResearcherAmendmentController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
  ) {}

  @Get(':id/amend')
  async form(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseUUIDPipe) id: string) {
    const bid = await getOwnBid(this.api, req, id);
    if (!(AMENDABLE_BID_STATES as readonly string[]).includes(bid.state)) throw notNow(bid, 'amended');
    const values: Record<string, unknown> = {
      durationMonths: String(bid.durationMonths),
      ...(cohortEditable(bid.cohort) && cohortValues(bid.cohort)),
    };
    for (const d of bid.datasets) values[`fields_${d.dataset}`] = d.fields;
    await this.render(req, reply, bid, values, formErrors());
  }

  @Post(':id/amend')
  async amend(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: FormBody,
  ) {
    const bid = await getOwnBid(this.api, req, id);
    if (!(AMENDABLE_BID_STATES as readonly string[]).includes(bid.state)) throw notNow(bid, 'amended');
    const catalog = await getCatalog(this.api, req);
    const errors = formErrors();
    const reason = str(body.reason);
    const months = Number(str(body.durationMonths));
    if (reason.length < 10) errors.add('reason', 'Say why the change is needed (at least 10 characters)');
    if (!Number.isInteger(months) || months < 1 || months > 36)
      errors.add('durationMonths', 'Enter a term of 1 to 36 months');
    const datasets = catalog.datasets
      .map((d) => ({ dataset: d.id, fields: all(body[`fields_${d.id}`]) }))
      .filter((d) => d.fields.length);
    if (!datasets.length) errors.add('datasets', 'Choose at least one field', 'datasets');
    // The cohort too: the request page offers "another cohort" (probe 24: the form had no box for
    // it). Sent only when changed, and only where the form shows it (review-25).
    const read = cohortEditable(bid.cohort) ? readCohort(body, errors) : bid.cohort;
    const cohort = sameCohort(read, bid.cohort) ? undefined : read;
    if (!errors.any()) {
      const created = await this.api.call<{ version: number; message?: string }>(
        req,
        'POST',
        `/api/bids/${id}/amendments`,
        { reason, datasets, durationMonths: months, ...(cohort && { cohort }) },
      );
      if (created.status === 201) {
        await this.api.expect(req, 'POST', `/api/bids/${id}/amendments/${created.body.version}/submit`);
        req.portal!.session.flash = {
          title: 'Amendment submitted',
          body: 'A release officer screens it. The version in force stays in force meanwhile.',
        };
        req.portal!.dirty = true;
        throw new PortalRedirect(`/requests/${id}/amendments/${created.body.version}`);
      }
      if (created.status !== 400 && created.status !== 409)
        throw new ApiCallError(created.status, created.body);
      errors.add('reason', created.body.message ?? 'The amendment could not be saved');
    }
    await this.render(req, reply, bid, { ...body }, errors, 400);
  }

  @Get(':id/amendments/:version')
  async show(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('version', ParseIntPipe) version: number,
  ) {
    const [bid, amendment, events] = await Promise.all([
      getOwnBid(this.api, req, id),
      getAmendment(this.api, req, id, version),
      this.api.expect<BidEvent[]>(req, 'GET', `/api/bids/${id}/events`),
    ]);
    this.views.page(req, reply, 'amendment.njk', {
      bid,
      amendment,
      // What the officer or the panel asked to change, when they returned it (probe 24: not shown).
      asked: amendment.state === 'returned' ? returnRemarks(events, version) : undefined,
      diffRows: diffRows(amendment),
      role: 'researcher',
      backHref: `/requests/${id}`,
      canAccept: amendment.state === 'approved',
      // Only the term changes: the releases made under the agreement in force are kept (the API's
      // rule, BidAmendmentsService.acceptOffered), so the offer does not say they are deleted.
      termOnly: amendment.diff.length > 0 && amendment.diff.every((d) => d.field === 'durationMonths'),
      canWithdraw: WITHDRAWABLE.includes(amendment.state),
    });
  }

  /** Withdraws the amendment (after approval: declines the agreement version offered); the version in force stays. */
  @Post(':id/amendments/:version/withdraw')
  async withdraw(
    @Req() req: PortalRequest,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('version', ParseIntPipe) version: number,
  ) {
    await this.api.expect(req, 'POST', `/api/bids/${id}/amendments/${version}/withdraw`, {});
    req.portal!.session.flash = {
      title: 'Amendment withdrawn',
      body: 'The version in force stays in force.',
    };
    req.portal!.dirty = true;
    throw new PortalRedirect(`/requests/${id}`);
  }

  private async render(
    req: PortalRequest,
    reply: FastifyReply,
    bid: Bid,
    values: Record<string, unknown>,
    errors: ReturnType<typeof formErrors>,
    status = 200,
  ) {
    const catalog = await getCatalog(this.api, req);
    const chosen = (k: string) => all(values[k]);
    this.views.page(
      req,
      reply,
      'amend-form.njk',
      {
        bid,
        pending: pending(bid),
        cohortEditable: cohortEditable(bid.cohort),
        values,
        errors: errors.list,
        fieldErrors: errors.byField,
        datasetItems: catalog.datasets.map((d) => ({
          id: d.id,
          title: d.title,
          items: d.fields.map((f) => ({
            value: f.name,
            text: f.name,
            checked: chosen(`fields_${d.id}`).includes(f.name),
          })),
        })),
      },
      status,
    );
  }
}

/** Release officers screen a submitted amendment on its diff: into review, back with remarks, or approve a narrowing. */
@PortalController('screening')
@UseGuards(PortalAuthGuard)
@PageAccess(['release_officer'])
export class ScreeningAmendmentController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
    private readonly audit: AuditService,
  ) {}

  @Get(':id/amendments/:version')
  async show(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('version', ParseIntPipe) version: number,
  ) {
    await this.render(req, reply, id, version, {}, formErrors());
  }

  @Post(':id/amendments/:version')
  async screen(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('version', ParseIntPipe) version: number,
    @Body() body: FormBody,
  ) {
    const outcome = str(body.outcome);
    const remarks = str(body.remarks);
    const errors = formErrors();
    // An officer of the applicant organisation: why, and the remarks to copy (the API would refuse it).
    if (ofApplicant(req, await getBid(this.api, req, id))) {
      await auditOwnRefusal(this.audit, req, id, 'amendmentScreening');
      return this.render(req, reply, id, version, { ...body }, errors, 403);
    }
    if (!['accept', 'return', 'approve'].includes(outcome))
      errors.add('outcome', 'Select an outcome', 'outcome');
    if (outcome === 'return' && !remarks)
      errors.add('remarks', 'Enter remarks telling the applicant what to change');
    let status = 400;
    if (!errors.any()) {
      const res = await this.api.call<{ message?: string }>(
        req,
        'POST',
        `/api/bids/${id}/amendments/${version}/screen`,
        { outcome, ...(remarks ? { remarks } : {}) },
      );
      if (res.status === 200) {
        req.portal!.session.flash = {
          title:
            outcome === 'approve'
              ? 'Amendment approved: the applicant is offered the new agreement version'
              : outcome === 'accept'
                ? 'Amendment accepted into the panel’s review'
                : 'Amendment returned to the applicant',
        };
        req.portal!.dirty = true;
        throw new PortalRedirect(`/screening/${id}/amendments/${version}`);
      }
      if (res.status !== 400 && res.status !== 403 && res.status !== 409)
        throw new ApiCallError(res.status, res.body);
      errors.add('outcome', res.body.message ?? 'The outcome could not be recorded', 'outcome');
      status = res.status;
    }
    await this.render(req, reply, id, version, { ...body }, errors, status);
  }

  private render(
    req: PortalRequest,
    reply: FastifyReply,
    id: string,
    version: number,
    values: Record<string, unknown>,
    errors: ReturnType<typeof formErrors>,
    status = 200,
  ) {
    return reviewerPage(
      this.api,
      this.views,
      req,
      reply,
      { id, version, values, errors, status },
      (amendment, bid) => ({
        role: 'officer',
        backHref: '/screening',
        refusal: ofApplicant(req, bid) ? OWN_ORGANISATION.screening : undefined,
        kept: ofApplicant(req, bid) ? keptText(values.remarks) : '',
        outcomeItems: [
          ['accept', 'Accept it into the panel’s review'],
          ['return', 'Return it to the applicant with remarks'],
          // Not to an administrator: an approval alone is a decision, which they never make (probe 36).
          ...(amendment.scope === 'narrowing' && !isAdministrator(req)
            ? [['approve', 'Approve it (it only narrows what is approved)']]
            : []),
        ].map(([value, text]) => ({ value, text, checked: values.outcome === value })),
      }),
    );
  }
}

/** Panel members vote on an amendment in review, on its diff. */
@PortalController('panel')
@UseGuards(PortalAuthGuard)
@PageAccess(['panel_member'])
export class PanelAmendmentController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
  ) {}

  @Get(':id/amendments/:version')
  async show(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('version', ParseIntPipe) version: number,
  ) {
    await this.render(req, reply, id, version, {}, formErrors());
  }

  @Post(':id/amendments/:version')
  async vote(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('version', ParseIntPipe) version: number,
    @Body() body: FormBody,
  ) {
    const { decision, conflictOfInterest, errors } = readVoteForm(body);
    let status = 400;
    if (!errors.any()) {
      const url = `/api/bids/${id}/amendments/${version}/votes`;
      const res = await this.api.call<AmendmentVoted>(
        req,
        'POST',
        url,
        voteBody(body, decision, conflictOfInterest),
      );
      if (res.status === 201) {
        const r = res.body;
        req.portal!.session.flash =
          r.amendmentState === 'in_review'
            ? {
                title: 'Your vote was recorded',
                body: `${r.counted} of ${r.quorum} votes needed for a decision.`,
              }
            : { title: `Quorum reached: the amendment is ${r.amendmentState.replace(/_/g, ' ')}` };
        req.portal!.dirty = true;
        throw new PortalRedirect(`/panel/${id}/amendments/${version}`);
      }
      if (res.status !== 400 && res.status !== 409 && res.status !== 403)
        throw new ApiCallError(res.status, res.body);
      errors.add('decision', res.body.message ?? 'Your vote could not be recorded', 'decision');
      status = res.status;
    }
    await this.render(req, reply, id, version, { ...body }, errors, status);
  }

  private async render(
    req: PortalRequest,
    reply: FastifyReply,
    id: string,
    version: number,
    values: Record<string, unknown>,
    errors: ReturnType<typeof formErrors>,
    status = 200,
  ) {
    const events = await this.api.expect<BidEvent[]>(req, 'GET', `/api/bids/${id}/events`);
    return reviewerPage(
      this.api,
      this.views,
      req,
      reply,
      { id, version, values, errors, status },
      (_, bid) => ({
        role: 'panel',
        backHref: '/panel',
        // An administrator, the applicant organisation's member or the amendment's screener reads
        // why instead of a vote the API refuses.
        refusal: voteRefusal(req, bid, events, version)?.text,
      }),
    );
  }
}
