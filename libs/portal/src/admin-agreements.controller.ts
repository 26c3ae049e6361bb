import { Body, Get, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ParseUUIDPipe } from '@custodian/core';
import type { FastifyReply } from 'fastify';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { ApiCallError, PortalRedirect } from './portal-errors';
import { PortalViews } from './portal-views';
import { FormBody, formErrors, str } from './form';
import { type ApiError, type Errors, flash } from './admin-pages';
import type { Bid } from './bids-api';

/** The API's limits on a revocation's reason (RevokeBidDto). */
const REASON = { min: 3, max: 2000 };
/** Agreements a page (the API's `GET /api/bids` pages by `page` and `limit`, at most 200). */
const PAGE_SIZE = 50;

interface BidPage {
  items: Bid[];
  page: number;
  total: number;
}

/**
 * The administrator's agreements in force, and their revocation (SPEC §1: the admin may revoke
 * agreements; §4: revocation destroys the bid's released files). An outsider's probe (2026-12-07)
 * found the journey only in the API. Every change is the API's own (its rules, its audit); a
 * revocation asks first, with the reason the applicant will read.
 */
@PortalController('admin')
@UseGuards(PortalAuthGuard)
@PageAccess(['admin'])
export class AdminAgreementsController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
  ) {}

  /**
   * Every agreement in force, a page at a time, newest first (it showed the first 200 and no more).
   * Not a page number: the first page; past the last page: the last; the page says which it shows.
   */
  @Get('agreements')
  async agreements(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Query() q: Record<string, string>,
  ) {
    // In force (`active`), or offered and not yet accepted (`approved`): the API revokes both (a
    // review: the offered ones could not be reached from the portal).
    const state = q.state === 'approved' ? 'approved' : 'active';
    const asked = str(q.page) || '1';
    const wellFormed = /^\d{1,6}$/.test(asked) && Number(asked) >= 1;
    const url = (page: number) => `/api/bids?state=${state}&page=${page}&limit=${PAGE_SIZE}`;
    let pageNotice = wellFormed ? undefined : `“${asked.slice(0, 20)}” is not a page number: this is page 1.`;
    const res = await this.api.call<BidPage | ApiError>(req, 'GET', url(wellFormed ? Number(asked) : 1));
    let result: BidPage;
    if (res.status === 200) result = res.body as BidPage;
    else if (res.status === 400 && wellFormed && Number(asked) > 1) {
      const first = await this.api.expect<BidPage>(req, 'GET', url(1));
      const last = Math.max(1, Math.ceil(first.total / PAGE_SIZE));
      pageNotice = `There is no page ${Number(asked).toLocaleString('en-GB')}: this is the last page, ${last.toLocaleString('en-GB')}.`;
      result = last === 1 ? first : await this.api.expect<BidPage>(req, 'GET', url(last));
    } else throw new ApiCallError(res.status, res.body as ApiError);
    const { items, page, total } = result;
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const link = (p: number) => `/admin/agreements?${state === 'approved' ? 'state=approved&' : ''}page=${p}`;
    this.views.page(req, reply, 'operations/admin-agreements.njk', {
      offered: state === 'approved',
      bids: items,
      total,
      page,
      pages,
      pageNotice,
      previous: page > 1 ? link(page - 1) : undefined,
      next: page < pages ? link(page + 1) : undefined,
    });
  }

  @Get('agreements/:id/revoke')
  async confirm(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    await this.render(req, reply, await this.activeBid(req, id), {}, formErrors());
  }

  @Post('agreements/:id/revoke')
  async revoke(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: FormBody,
  ) {
    const bid = await this.activeBid(req, id);
    const values = { reason: str(body.reason) };
    const errors = formErrors();
    if (values.reason.length < REASON.min)
      errors.add('reason', 'Enter the reason for revoking the agreement: the applicant reads it');
    else if (values.reason.length > REASON.max)
      errors.add('reason', `Enter a reason of at most ${REASON.max.toLocaleString('en-GB')} characters`);
    if (!errors.any()) {
      const res = await this.api.call<ApiError>(req, 'POST', `/api/bids/${id}/revoke`, values);
      if (res.status === 200) {
        flash(
          req,
          `Agreement for “${bid.title}” revoked`,
          'Its released files are being deleted, and the applicant has been told why.',
        );
        throw new PortalRedirect('/admin/agreements');
      }
      if (res.status !== 400 && res.status !== 409) throw new ApiCallError(res.status, res.body);
      errors.add('reason', res.body?.message ?? 'The agreement could not be revoked');
    }
    return this.render(req, reply, bid, values, errors, 400);
  }

  /**
   * The bid of an agreement in force or offered, or the refusal the API gives (the same 404 as no
   * bid). Any other state goes back to the list saying why (it went back with no word).
   */
  private async activeBid(req: PortalRequest, id: string): Promise<Bid> {
    const bid = await this.api.expect<Bid>(req, 'GET', `/api/bids/${id}`);
    if (bid.state !== 'active' && bid.state !== 'approved') {
      flash(
        req,
        'Nothing was revoked',
        `“${bid.title}” has no agreement to revoke: it is ${bid.state.replace(/_/g, ' ')}.`,
        'warning',
      );
      throw new PortalRedirect('/admin/agreements');
    }
    return bid;
  }

  private render(
    req: PortalRequest,
    reply: FastifyReply,
    bid: Bid,
    values: Record<string, string>,
    errors: Errors,
    status = 200,
  ) {
    this.views.page(
      req,
      reply,
      'operations/admin-revoke.njk',
      { bid, values, errors: errors.list, fieldErrors: errors.byField, maxLength: REASON.max },
      status,
    );
  }
}
