import { Body, Get, Headers, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ParseUUIDPipe } from '@custodian/core';
import type { FastifyReply } from 'fastify';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { ApiCallError, PortalRedirect } from './portal-errors';
import { PortalViews } from './portal-views';
import { FormBody, formErrors } from './form';
import {
  ApiErrorBody,
  apiErrorsToFields,
  forCreate,
  formValues,
  parseRequestForm,
  RequestFormErrors,
  requestFormContext,
} from './request-form';
import { CatalogAnswer, releaseColumns } from './columns';
import {
  Bid,
  BidEvent,
  getCatalog,
  getOwnBid,
  listOwnBids,
  publicRiskReportOf,
  Release,
  releasesOfBid,
} from './bids-api';
import { BIDS_ERRORS } from '@custodian/bids';
import { plainRefusal } from './refusals';
import { EDITABLE, WITHDRAWABLE } from './researcher-request.controller';
import { timelineOf } from './timeline';
import { getClock } from './transparency-portal';

/** A release file's name as the engine writes it (letters, digits, dots, dashes, underscores). */
const RELEASE_FILE_NAME = /^[A-Za-z0-9._-]{1,200}$/;

/** The ended states of an agreement, as "the files were deleted because …" ends. */
const ENDED: Record<string, string> = {
  revoked: 'the agreement was revoked',
  expired: 'the agreement expired',
  closed: 'the agreement was closed',
};

export const bidColumns = (catalog: CatalogAnswer, bid: Bid) =>
  releaseColumns(
    catalog,
    bid.grantedTier ?? bid.requestedTier,
    bid.datasets,
    bid.aggregation?.dimensions ?? [],
  );

/** The researcher's pages: their organisation's requests, a new request, one request with its releases. */
@PortalController('requests')
@UseGuards(PortalAuthGuard)
@PageAccess(['researcher'])
export class ResearcherController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
  ) {}

  @Get()
  async list(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const bids = await listOwnBids(this.api, req);
    this.views.page(req, reply, 'bid-list.njk', {
      pageTitle: 'Your organisation’s requests',
      heading: 'Your organisation’s requests',
      intro: 'Every data access request of your organisation, and where it has got to.',
      actionHref: '/requests/new',
      actionText: 'Request data',
      bids,
      linkBase: '/requests',
      emptyText: 'Your organisation has no requests yet.',
    });
  }

  @Get('new')
  async newForm(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const catalog = await getCatalog(this.api, req);
    this.form(req, reply, catalog, { requestedTier: 'pseudonymised', durationMonths: '12' }, formErrors());
  }

  @Post('new')
  async create(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Body() body: FormBody) {
    const catalog = await getCatalog(this.api, req);
    const values = formValues(body);
    const { dto, errors } = parseRequestForm(body, catalog);
    if (errors.any()) return this.form(req, reply, catalog, values, errors, 400);
    const res = await this.api.call<Bid & ApiErrorBody>(req, 'POST', '/api/bids', forCreate(dto));
    if (res.status === 201) {
      req.portal!.session.flash = {
        title: 'Draft request saved',
        body: 'Check it, then submit it for screening.',
      };
      req.portal!.dirty = true;
      throw new PortalRedirect(`/requests/${res.body.id}`);
    }
    if (res.status === 400) {
      // The API has the last word (tier against legal basis, catalogue, duration for the
      // organisation's kind): its refusal goes on the field it concerns.
      apiErrorsToFields(res.body, errors, catalog);
      return this.form(req, reply, catalog, values, errors, 400);
    }
    throw new ApiCallError(res.status, res.body);
  }

  private form(
    req: PortalRequest,
    reply: FastifyReply,
    catalog: CatalogAnswer,
    values: Record<string, unknown>,
    errors: RequestFormErrors,
    status = 200,
  ) {
    this.views.page(
      req,
      reply,
      'request-form.njk',
      {
        ...requestFormContext(catalog, values, errors),
        pageTitle: 'Request data',
        formAction: '/requests/new',
        submitText: 'Save draft request',
        backHref: '/requests',
      },
      status,
    );
  }

  @Get(':id')
  async show(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseUUIDPipe) id: string) {
    await this.render(req, reply, id);
  }

  /** The request page; with `errors` (a refused submission), its error summary, at `status`. */
  private async render(
    req: PortalRequest,
    reply: FastifyReply,
    id: string,
    errors: { text: string; href: string }[] = [],
    status = 200,
  ) {
    const bid = await getOwnBid(this.api, req, id);
    const [catalog, events, releases] = await Promise.all([
      getCatalog(this.api, req),
      this.api.expect<BidEvent[]>(req, 'GET', `/api/bids/${id}/events`),
      ['active', 'expired', 'revoked', 'closed'].includes(bid.state) ? releasesOfBid(this.api, req, id) : [],
    ]);
    const decision = events
      .filter((e) => ['approved', 'rejected', 'returned'].includes(e.toState ?? ''))
      .at(-1);
    const timeline = timelineOf(events, req);
    const accepted = timeline.filter((e) => e.state === 'active').at(-1);
    const needsCohort = bid.legalBasis === 'consent' && EDITABLE.includes(bid.state);
    // The agreement's end stops downloads at once and the files are deleted (SPEC §5): a release of
    // an ended agreement shows that, and when, never its links.
    const ended = ENDED[bid.state];
    this.views.page(
      req,
      reply,
      'request.njk',
      {
        bid,
        clock: await getClock(this.api, req, id),
        columns: bidColumns(catalog, bid),
        timeline,
        canEdit: EDITABLE.includes(bid.state),
        // A consent request is submitted with its cohort: no Submit until one is attached.
        canSubmit: EDITABLE.includes(bid.state) && !(needsCohort && !bid.cohortSize),
        canWithdraw: WITHDRAWABLE.includes(bid.state),
        needsCohort,
        errors,
        organisation: bid.organisation,
        accepted,
        datasetList: bid.datasets
          .map((d) => catalog.datasets.find((c) => c.id === d.dataset)?.title ?? d.dataset)
          .join(', '),
        releases: releases
          .map((r) => ({
            ...r,
            date: r.completedAt ?? r.createdAt ?? null,
            riskReport: publicRiskReportOf(r.riskReport),
            // Its agreement no longer in force while the bid is active: replaced by an amendment's
            // version where it was made before that version's start (probe 24), else ended (an end
            // date passed, the expiry not yet swept: review-25).
            ended:
              r.state !== 'completed'
                ? undefined
                : (ended ?? (r.downloadable === false ? endedWhy(r, bid) : undefined)),
            downloadable:
              bid.state === 'active' &&
              r.state === 'completed' &&
              !r.filesDestroyedAt &&
              r.downloadable !== false,
          }))
          .sort((a, b) => String(b.date ?? '9').localeCompare(String(a.date ?? '9'))),
        decisionText: decision
          ? `${decision.toState![0].toUpperCase()}${decision.toState!.slice(1)}`
          : bid.state,
        // A decision belongs to its round: once the request is back in review (resubmitted after a
        // return) the last round's outcome is not this request's (a walk-through, 2026-12-06).
        showDecision: Boolean(bid.decidedAt) && !['draft', 'submitted', 'in_review'].includes(bid.state),
      },
      status,
    );
  }

  @Post(':id/submit')
  async submit(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const res = await this.api.call<ApiErrorBody>(req, 'POST', `/api/bids/${id}/submit`);
    // A consent request without its cohort (a page loaded before the cohort went, a second tab):
    // back on the request, the error summary leading to the cohort's link.
    if (res.status === 409 && res.body?.code === BIDS_ERRORS.CONSENT_COHORT_REQUIRED)
      return this.render(req, reply, id, [{ text: plainRefusal(res.body)!, href: '#attach-cohort' }], 409);
    if (res.status !== 200) throw new ApiCallError(res.status, res.body);
    req.portal!.session.flash = {
      title: 'Request submitted',
      body: 'A release officer will screen it before the panel reviews it.',
    };
    req.portal!.dirty = true;
    throw new PortalRedirect(`/requests/${id}`);
  }

  @Post(':id/accept')
  async accept(@Req() req: PortalRequest, @Param('id', ParseUUIDPipe) id: string) {
    await this.api.expect(req, 'POST', `/api/bids/${id}/agreement/accept`);
    req.portal!.session.flash = {
      title: 'Agreement accepted',
      body: 'The request is active. A release officer can now release the data.',
    };
    req.portal!.dirty = true;
    throw new PortalRedirect(`/requests/${id}`);
  }

  /** A release file, streamed from the API (which checks recipient and agreement and audits the download). */
  @Get(':id/releases/:releaseId/files/:name')
  async download(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('releaseId', ParseUUIDPipe) releaseId: string,
    @Param('name') name: string,
    @Headers('range') range?: string,
  ) {
    // A release file's name is a plain file name ("." and ".." are none); and the release is served
    // only under its own request's address (another request's, even of this organisation, is 404).
    if (!RELEASE_FILE_NAME.test(name) || /^\.+$/.test(name)) throw new ApiCallError(404, undefined);
    const release = await this.api.call<Release>(req, 'GET', `/api/releases/${releaseId}`);
    if (release.status !== 200 || release.body.bidId !== id)
      throw new ApiCallError(release.status === 200 ? 404 : release.status, undefined);
    const upstream = await this.api.stream(
      req,
      `/api/releases/${releaseId}/files/${encodeURIComponent(name)}`,
      range,
    );
    if ((upstream.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of upstream) chunks.push(c as Buffer);
      let body: { message?: string } | undefined;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      throw new ApiCallError(upstream.statusCode ?? 500, body);
    }
    for (const h of [
      'content-type',
      'content-length',
      'content-disposition',
      'content-range',
      'accept-ranges',
      'etag',
    ])
      if (upstream.headers[h]) reply.header(h, upstream.headers[h] as string);
    reply
      .header('cache-control', 'no-store')
      .status(upstream.statusCode ?? 200)
      .send(upstream);
  }
}

/** Why a completed release of an active bid can no longer be downloaded, as "because …" ends. */
function endedWhy(r: { completedAt?: string | null }, bid: Bid): string {
  const start = bid.agreement?.startDate;
  // The term over (its end date reached, the expiry not yet swept) is the reason whatever the
  // version: a release an amendment of the term alone kept is not "replaced" (review 41).
  const ended = bid.agreement?.endDate && bid.agreement.endDate <= new Date().toISOString().slice(0, 10);
  return !ended && (bid.version ?? 1) > 1 && start && String(r.completedAt ?? '').slice(0, 10) < start
    ? `the agreement it was made under was replaced by version ${bid.version}`
    : 'the agreement it was made under is no longer in force';
}
