import { Body, Get, Param, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import { ParseUUIDPipe } from '@custodian/core';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { BIDS_ERRORS, EDITABLE_STATES, TRANSITIONS } from '@custodian/bids';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { ApiCallError, PortalPageError, PortalRedirect } from './portal-errors';
import { PortalViews } from './portal-views';
import { FormBody, formErrors, str } from './form';
import { Bid, BidEvent, getCatalog, getOwnBid } from './bids-api';
import { CatalogAnswer } from './columns';
import {
  ApiErrorBody,
  apiErrorsToFields,
  bidToFormValues,
  formValues,
  parseRequestForm,
  RequestFormErrors,
  requestFormContext,
} from './request-form';
import { timelineOf } from './timeline';
import { notNow } from './refusals';

/** The states SPEC §4 lets an applicant withdraw from (the state machine's own table). */
export const WITHDRAWABLE: readonly string[] = TRANSITIONS.find((t) => t.action === 'withdraw')?.from ?? [];
export const EDITABLE: readonly string[] = EDITABLE_STATES;

interface CohortAnswer {
  received: number;
  stored: number;
  duplicates: number;
}

/** "lines 2, 4 and 9" */
export const lineList = (lines: number[]) =>
  lines.length === 1 ? `line ${lines[0]}` : `lines ${lines.slice(0, -1).join(', ')} and ${lines.at(-1)}`;

/**
 * The researcher's changes to a request: edit a draft or returned request (every field of the
 * create form, pre-filled, with the reviewers' remarks beside it), withdraw it after confirming,
 * and attach the consenting cohort of a consent request. Every change is the API's (PATCH, withdraw,
 * PUT cohort), which decides what this user may do to this request.
 */
@PortalController('requests')
@UseGuards(PortalAuthGuard)
@PageAccess(['researcher'])
export class ResearcherRequestController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
  ) {}

  @Get(':id/edit')
  async editForm(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const bid = await this.editable(req, id);
    const catalog = await getCatalog(this.api, req);
    await this.form(req, reply, bid, catalog, bidToFormValues(bid), formErrors());
  }

  @Post(':id/edit')
  async edit(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: FormBody,
  ) {
    const bid = await this.editable(req, id);
    const catalog = await getCatalog(this.api, req);
    const values = formValues(body);
    const { dto, errors } = parseRequestForm(body, catalog);
    if (errors.any()) return this.form(req, reply, bid, catalog, values, errors, 400);
    const res = await this.api.call<ApiErrorBody>(req, 'PATCH', `/api/bids/${id}`, dto);
    if (res.status === 200) {
      this.flash(req, 'Your changes were saved', 'Check the request, then submit it for screening.');
      throw new PortalRedirect(`/requests/${id}`);
    }
    if (res.status === 400) {
      apiErrorsToFields(res.body, errors, catalog);
      return this.form(req, reply, bid, catalog, values, errors, 400);
    }
    throw new ApiCallError(res.status, res.body);
  }

  @Get(':id/withdraw')
  async withdrawConfirm(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const bid = await getOwnBid(this.api, req, id);
    if (!WITHDRAWABLE.includes(bid.state)) throw notNow(bid, 'withdrawn');
    this.views.page(req, reply, 'request-withdraw.njk', { bid, values: {}, fieldErrors: {} });
  }

  @Post(':id/withdraw')
  async withdraw(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: FormBody,
  ) {
    const remarks = str(body.remarks);
    const errors = formErrors();
    if (remarks.length > 2000) errors.add('remarks', 'Enter a reason of 2,000 characters or fewer');
    if (!errors.any()) {
      const res = await this.api.call<ApiErrorBody>(
        req,
        'POST',
        `/api/bids/${id}/withdraw`,
        remarks ? { remarks } : {},
      );
      if (res.status === 200) {
        this.flash(req, 'Request withdrawn', 'It stays in your list, and can no longer be changed.');
        throw new PortalRedirect(`/requests/${id}`);
      }
      if (res.status !== 409) throw new ApiCallError(res.status, res.body);
      errors.add('remarks', 'This request can no longer be withdrawn', 'remarks');
    }
    const bid = await getOwnBid(this.api, req, id);
    this.views.page(
      req,
      reply,
      'request-withdraw.njk',
      { bid, values: { remarks }, errors: errors.list, fieldErrors: errors.byField },
      400,
    );
  }

  @Get(':id/cohort')
  async cohortForm(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const bid = await this.cohortBid(req, id);
    this.views.page(req, reply, 'request-cohort.njk', { bid, values: {}, fieldErrors: {} });
  }

  /** Without scripts: the NHS numbers pasted into a box (a form cannot stream a file without them). */
  @Post(':id/cohort')
  async cohortPasted(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: FormBody,
  ) {
    const text = typeof body.nhsNumbers === 'string' ? body.nhsNumbers : '';
    const errors = formErrors();
    if (!text.trim()) errors.add('nhsNumbers', 'Enter the NHS numbers of the consenting cohort, one a line');
    else {
      const { Readable } = await import('node:stream');
      const res = await this.api.upload<CohortAnswer & ApiErrorBody>(
        req,
        'PUT',
        `/api/bids/${id}/cohort`,
        'text/plain',
        Readable.from([Buffer.from(text, 'utf8')]),
      );
      if (res.status === 200) {
        this.cohortAccepted(req, res.body);
        throw new PortalRedirect(`/requests/${id}`);
      }
      this.cohortRefused(res.status, res.body, errors, 'nhsNumbers');
    }
    const bid = await this.cohortBid(req, id);
    this.views.page(
      req,
      reply,
      'request-cohort.njk',
      { bid, values: { nhsNumbers: text }, errors: errors.list, fieldErrors: errors.byField },
      400,
    );
  }

  /**
   * With scripts: the file itself, streamed (text/plain) by the page's script, which shows the
   * upload's progress; the CSRF token comes in `x-csrf-token`. Answers JSON: where to go next, or
   * the errors to show on the page.
   */
  @Put(':id/cohort')
  @RouteConfig({ streamedBody: 'text/plain' })
  async cohortFile(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const res = await this.api.upload<CohortAnswer & ApiErrorBody>(
      req,
      'PUT',
      `/api/bids/${id}/cohort`,
      'text/plain',
      req.body as NodeJS.ReadableStream,
    );
    const send = (status: number, payload: unknown) =>
      reply
        .status(status)
        .header('content-type', 'application/json; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(JSON.stringify(payload));
    if (res.status === 200) {
      this.cohortAccepted(req, res.body);
      return send(200, { ...res.body, redirect: `/requests/${id}` });
    }
    const errors = formErrors();
    this.cohortRefused(res.status, res.body, errors, 'cohortFile');
    return send(res.status >= 500 ? 502 : res.status, { errors: errors.list });
  }

  private cohortAccepted(req: PortalRequest, a: CohortAnswer) {
    const n = (x: number, one: string, many: string) =>
      `${x.toLocaleString('en-GB')} ${x === 1 ? one : many}`;
    this.flash(
      req,
      `${n(a.stored, 'NHS number', 'NHS numbers')} accepted`,
      `${n(a.received, 'line', 'lines')} read${a.duplicates ? `, ${a.duplicates.toLocaleString('en-GB')} repeated (kept once)` : ''}. The file replaces any cohort attached before.`,
    );
  }

  /** The API's refusal of a cohort file, in words, with the line numbers it gives (never the numbers themselves). */
  private cohortRefused(status: number, body: ApiErrorBody, errors: RequestFormErrors, field: string) {
    // The box without scripts holds a pasted list, not a file: its errors say so.
    const pasted = field === 'nhsNumbers';
    const source = pasted ? 'The list' : 'The file';
    const details = (body?.details ?? {}) as { badLines?: number[]; badCount?: number };
    if (status === 400 && body?.code === BIDS_ERRORS.INVALID_NHS_NUMBERS && details.badLines?.length) {
      const bad = details.badCount ?? details.badLines.length;
      const more = bad > details.badLines.length;
      errors.add(
        field,
        `${bad === 1 ? '1 line does' : `${bad.toLocaleString('en-GB')} lines do`} not hold a valid NHS number: ${lineList(details.badLines)}${more ? ' and others' : ''}. Nothing was stored; ${pasted ? 'correct the list and paste it again' : 'correct the file and upload it again'}.`,
      );
    } else if (status === 400 && body?.code === BIDS_ERRORS.EMPTY_COHORT)
      errors.add(field, `${source} is empty: it needs one NHS number a line`);
    else if (status === 400 || status === 413)
      errors.add(
        field,
        `${source} could not be read: it needs one 10-digit NHS number a line, and nothing else`,
      );
    else if (status === 409) errors.add(field, 'This request cannot take a cohort now');
    else throw new ApiCallError(status, body);
  }

  private async cohortBid(req: PortalRequest, id: string): Promise<Bid> {
    const bid = await getOwnBid(this.api, req, id);
    if (bid.legalBasis !== 'consent')
      throw new PortalPageError(
        409,
        'This request does not take a cohort',
        'Only a request under consent has a consenting cohort. Change the legal basis first.',
      );
    if (!EDITABLE.includes(bid.state)) throw notNow(bid, 'changed');
    return bid;
  }

  private async editable(req: PortalRequest, id: string): Promise<Bid> {
    const bid = await getOwnBid(this.api, req, id);
    if (!EDITABLE.includes(bid.state)) throw notNow(bid, 'changed');
    return bid;
  }

  private flash(req: PortalRequest, title: string, body?: string) {
    req.portal!.session.flash = { title, body };
    req.portal!.dirty = true;
  }

  private async form(
    req: PortalRequest,
    reply: FastifyReply,
    bid: Bid,
    catalog: CatalogAnswer,
    values: Record<string, unknown>,
    errors: RequestFormErrors,
    status = 200,
  ) {
    const events = await this.api.expect<BidEvent[]>(req, 'GET', `/api/bids/${bid.id}/events`);
    // The remarks of the latest return (the ones this edit answers).
    const lastReturn = events.map((e) => e.toState).lastIndexOf('returned');
    const remarks =
      bid.state === 'returned' ? timelineOf(events.slice(lastReturn), req).filter((e) => e.remarks) : [];
    this.views.page(
      req,
      reply,
      'request-form.njk',
      {
        ...requestFormContext(catalog, values, errors),
        bid,
        remarks,
        pageTitle: `Change “${bid.title}”`,
        formAction: `/requests/${bid.id}/edit`,
        submitText: 'Save changes',
        backHref: `/requests/${bid.id}`,
      },
      status,
    );
  }
}
