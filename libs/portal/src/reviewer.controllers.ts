import { PATTERNS } from './patterns';
import { Body, Get, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { AuditService } from '@custodian/audit';
import { ParseUUIDPipe } from '@custodian/core';
import type { FastifyReply } from 'fastify';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { ApiCallError, PortalPageError, PortalRedirect } from './portal-errors';
import { readVoteForm, voteBody } from './vote-form';
import { PortalViews } from './portal-views';
import { FormBody, formErrors, str } from './form';
import { TIERS } from './columns';
import { Bid, BidEvent, getBid, getCatalog, listBids, Release, releasesOfBid } from './bids-api';
import {
  applicantFacts,
  exclusionReport,
  failureOf,
  myVote,
  panelRecord,
  progressOf,
  screeningNotes,
  PANEL_STATES,
  stateFilter,
  wasInReview,
} from './review-facts';
import { bidColumns } from './researcher.controller';
import { getClock, inQueueOrder } from './transparency-portal';
import { amendmentsAwaiting } from './amendment-view';
import { plainRefusal } from './refusals';
import {
  auditOwnRefusal,
  keptText,
  ofApplicant,
  OWN_ORGANISATION,
  releaseRefusal,
  voteRefusal,
} from './own-organisation';

/** The most characters the API takes in screening remarks and notes (`ScreenBidDto`). */
const SCREENING_TEXT_MAX = 5000;

const humanise = (s: string) => (s.charAt(0).toUpperCase() + s.slice(1)).replace(/_/g, ' ');

interface VoteResult {
  recused: boolean;
  counted: number;
  quorum: number;
  bidState: string;
}

/** Panel members: the bids in review, one bid's full request, the vote with its declaration of interests. */
@PortalController('panel')
@UseGuards(PortalAuthGuard)
@PageAccess(['panel_member'])
export class PanelController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
    private readonly audit: AuditService,
  ) {}

  @Get()
  async queue(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Query('state') state?: string) {
    const filter = stateFilter(state, 'in_review', PANEL_STATES);
    const listed = await listBids(this.api, req, filter.state);
    // Only requests that are or were in the panel's review (a returned or withdrawn one: its
    // history says); every state is `undefined`, so that filter too.
    const reviewed: Bid[] = [];
    for (const b of listed)
      if (PANEL_STATES.includes(b.state) && (await this.inReview(req, b))) reviewed.push(b);
    const bids = await inQueueOrder(this.api, req, reviewed);
    // The page's title is its heading (a walk-through: the two differed).
    const heading = filter.state === 'in_review' ? 'Requests in review' : 'Panel review';
    this.views.page(req, reply, 'review-list.njk', {
      pageTitle: heading,
      heading,
      intro:
        'Requests a release officer has screened and passed to the panel. Declare your interests when you vote. Decided requests stay here: choose their state to find them.',
      bids: bids.map(applicantFacts),
      filter,
      formAction: '/panel',
      linkBase: '/panel',
      amendments: await amendmentsAwaiting(this.api, req, 'in_review', '/panel'),
      emptyText:
        filter.state === 'in_review'
          ? 'There are no requests waiting for the panel.'
          : 'There are no requests in this state.',
    });
  }

  @Get(':id')
  async show(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseUUIDPipe) id: string) {
    await this.render(req, reply, await this.reviewedBid(req, id), {}, formErrors());
  }

  /**
   * A request the panel has had before it, else the same 404 as an unknown id: a request still
   * being screened, or returned at screening, is not the panel's to read (SPEC §1).
   */
  private async reviewedBid(req: PortalRequest, id: string): Promise<Bid> {
    const bid = await getBid(this.api, req, id);
    if (!(await this.inReview(req, bid))) throw new ApiCallError(404, undefined);
    return bid;
  }

  private async inReview(req: PortalRequest, bid: Bid): Promise<boolean> {
    if (wasInReview(bid)) return true;
    if (!PANEL_STATES.includes(bid.state)) return false;
    const events = await this.api.call<BidEvent[]>(req, 'GET', `/api/bids/${bid.id}/events`);
    return events.status === 200 && Array.isArray(events.body) && wasInReview(bid, events.body);
  }

  private async render(
    req: PortalRequest,
    reply: FastifyReply,
    bid: Bid,
    values: Record<string, unknown>,
    errors: ReturnType<typeof formErrors>,
    status = 200,
  ) {
    const [catalog, events] = await Promise.all([
      getCatalog(this.api, req),
      this.api.expect<BidEvent[]>(req, 'GET', `/api/bids/${bid.id}/events`),
    ]);
    const allowed = TIERS.slice(TIERS.indexOf(bid.requestedTier as (typeof TIERS)[number]));
    this.views.page(
      req,
      reply,
      'panel-bid.njk',
      {
        bid,
        facts: applicantFacts(bid),
        notes: screeningNotes(events),
        record: panelRecord(bid, events),
        myVote: myVote(events, req.portal?.session.auth?.user.id),
        refusal: voteRefusal(req, bid, events)?.text,
        kept: voteRefusal(req, bid, events) ? keptText(values.interests, values.conditions) : '',
        clock: await getClock(this.api, req, bid.id),
        columns: bidColumns(catalog, bid),
        values,
        errors: errors.list,
        fieldErrors: errors.byField,
        tierOptions: allowed.map((t) => ({
          value: t,
          text: t === bid.requestedTier ? `${humanise(t)} (as requested)` : humanise(t),
          selected: (values.tier ?? bid.requestedTier) === t,
        })),
      },
      status,
    );
  }

  @Post(':id/vote')
  async vote(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: FormBody,
  ) {
    const bid = await this.reviewedBid(req, id);
    const values = { ...body };
    const events = await this.api.expect<BidEvent[]>(req, 'GET', `/api/bids/${id}/events`);
    const refused = voteRefusal(req, bid, events);
    if (refused) {
      await auditOwnRefusal(this.audit, req, id, 'panel', refused.segregation);
      return this.render(req, reply, bid, values, formErrors(), 403);
    }
    const { decision, conflictOfInterest, errors } = readVoteForm(body);
    if (errors.any()) return this.render(req, reply, bid, values, errors, 400);
    const dto = voteBody(body, decision, conflictOfInterest);
    const tier = str(body.tier);
    if (decision === 'approve' && tier) dto.tier = tier;
    const res = await this.api.call<VoteResult & { message?: string }>(
      req,
      'POST',
      `/api/bids/${id}/votes`,
      dto,
    );
    if (res.status === 400 || res.status === 409) {
      const text = (res.status === 409 && plainRefusal(res.body)) || res.body.message;
      errors.add('decision', text ?? 'Your vote could not be recorded', 'decision');
      return this.render(req, reply, bid, values, errors, res.status);
    }
    if (res.status !== 201 && res.status !== 200) throw new ApiCallError(res.status, res.body);
    const r = res.body;
    req.portal!.session.flash =
      r.bidState === 'in_review'
        ? {
            title: r.recused ? 'Your vote was recorded, and not counted' : 'Your vote was recorded',
            body: `${r.counted} of ${r.quorum} votes needed for a decision.`,
          }
        : {
            title: `Quorum reached: the request is ${humanise(r.bidState).toLowerCase()}`,
            body: `${r.counted} votes counted.`,
          };
    req.portal!.dirty = true;
    throw new PortalRedirect(`/panel/${id}`);
  }
}

/** Release officers: screening of submitted bids, releases of active bids and their progress. */
@PortalController()
@UseGuards(PortalAuthGuard)
@PageAccess(['release_officer'])
export class ReleaseOfficerController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
    private readonly audit: AuditService,
  ) {}

  @Get('screening')
  async queue(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Query('state') state?: string) {
    const filter = stateFilter(state, 'submitted');
    const listed = await listBids(this.api, req, filter.state);
    // Not the officer's to screen: their own organisation's (SPEC §1).
    const bids = await inQueueOrder(
      this.api,
      req,
      listed.filter((b) => !ofApplicant(req, b)),
    );
    const heading = filter.state === 'submitted' ? 'Requests to screen' : 'Screening';
    this.views.page(req, reply, 'review-list.njk', {
      pageTitle: heading,
      heading,
      intro:
        'Submitted requests, oldest first. Accept a complete request into the panel’s review, or return it with remarks.',
      bids: bids.map(applicantFacts).sort((a, b) => b.daysWaiting - a.daysWaiting),
      filter,
      formAction: '/screening',
      linkBase: '/screening',
      amendments: await amendmentsAwaiting(this.api, req, 'submitted', '/screening', true),
      emptyText:
        filter.state === 'submitted'
          ? 'There are no requests waiting to be screened.'
          : 'There are no requests in this state.',
    });
  }

  @Get('screening/:id')
  async show(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseUUIDPipe) id: string) {
    const bid = await getBid(this.api, req, id);
    const [catalog, events] = await Promise.all([
      getCatalog(this.api, req),
      this.api.expect<BidEvent[]>(req, 'GET', `/api/bids/${id}/events`),
    ]);
    this.views.page(req, reply, 'screening-bid.njk', {
      clock: await getClock(this.api, req, id),
      bid,
      facts: applicantFacts(bid),
      notes: screeningNotes(events),
      columns: bidColumns(catalog, bid),
      values: {},
      fieldErrors: {},
      ownOrganisation: ofApplicant(req, bid) ? OWN_ORGANISATION.screening : undefined,
    });
  }

  @Post('screening/:id')
  async screen(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: FormBody,
  ) {
    const outcome = str(body.outcome);
    const remarks = str(body.remarks);
    const notes = str(body.notes);
    const errors = formErrors();
    if (!['accept', 'return'].includes(outcome))
      errors.add('outcome', 'Select whether to accept or return the request', 'outcome');
    if (outcome === 'return' && !remarks)
      errors.add('remarks', 'Enter remarks telling the applicant what to change');
    // The API's limit (ScreenBidDto: 5,000 each), said on the box with the text kept.
    if (remarks.length > SCREENING_TEXT_MAX)
      errors.add('remarks', 'Enter remarks of 5,000 characters or fewer');
    if (notes.length > SCREENING_TEXT_MAX) errors.add('notes', 'Enter notes of 5,000 characters or fewer');
    const bid = await getBid(this.api, req, id);
    const own = ofApplicant(req, bid);
    if (own) await auditOwnRefusal(this.audit, req, id, 'screening');
    let status = own ? 403 : 400;
    if (!errors.any() && !own) {
      const dto: Record<string, unknown> = { outcome };
      if (remarks) dto.remarks = remarks;
      if (notes) dto.notes = notes;
      const res = await this.api.call<{ message?: string }>(req, 'POST', `/api/bids/${id}/screen`, dto);
      if (res.status === 200 || res.status === 201) {
        req.portal!.session.flash = {
          title: outcome === 'accept' ? 'Request accepted into review' : 'Request returned to the applicant',
        };
        req.portal!.dirty = true;
        throw new PortalRedirect('/screening');
      }
      if (res.status !== 400 && res.status !== 409) throw new ApiCallError(res.status, res.body);
      const text = (res.status === 409 && plainRefusal(res.body)) || res.body.message;
      errors.add('outcome', text ?? 'The outcome could not be recorded', 'outcome');
      status = res.status;
    }
    const catalog = await getCatalog(this.api, req);
    this.views.page(
      req,
      reply,
      'screening-bid.njk',
      {
        bid,
        facts: applicantFacts(bid),
        columns: bidColumns(catalog, bid),
        values: body,
        errors: own ? [] : errors.list,
        fieldErrors: own ? {} : errors.byField,
        ownOrganisation: own ? OWN_ORGANISATION.screening : undefined,
        kept: own ? keptText(remarks, notes) : '',
      },
      status,
    );
  }

  @Get('data-releases')
  async releases(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const bids = await listBids(this.api, req, 'active');
    const withReleases = [];
    for (const b of bids) {
      const releases = (await releasesOfBid(this.api, req, b.id)).sort((x, y) =>
        String(y.createdAt).localeCompare(String(x.createdAt)),
      );
      const refusal = (await releaseRefusal(this.api, req, b))?.text;
      withReleases.push({ ...applicantFacts(b), releases, refusal });
    }
    const all = withReleases
      .flatMap((b) => b.releases.map((r) => ({ ...r, title: b.title, bidId: b.id })))
      .sort((x, y) => String(y.createdAt).localeCompare(String(x.createdAt)));
    this.views.page(req, reply, 'releases.njk', { bids: withReleases, releases: all });
  }

  @Post('data-releases')
  async generate(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Body() body: FormBody) {
    const bidId = str(body.bidId);
    if (!PATTERNS.uuid.test(bidId)) throw new ApiCallError(400, { message: 'Choose a request to release' });
    const bid = await getBid(this.api, req, bidId);
    const refused = await releaseRefusal(this.api, req, bid);
    if (refused) {
      await auditOwnRefusal(this.audit, req, bidId, 'release', refused.segregation);
      throw new PortalPageError(403, 'You cannot release this request', refused.text);
    }
    if (str(body.confirm) !== 'yes') {
      // A release of this request exists already: ask before making another.
      const existing = await releasesOfBid(this.api, req, bidId);
      if (existing.length) {
        const latest = existing.sort((x, y) => String(y.createdAt).localeCompare(String(x.createdAt)))[0]!;
        return this.views.page(req, reply, 'release-confirm.njk', { bid, latest, count: existing.length });
      }
    }
    const r = await this.api.expect<{ id: string; state: string }>(
      req,
      'POST',
      `/api/bids/${bidId}/releases`,
      {},
      [200, 201, 202],
    );
    req.portal!.session.flash = {
      title: 'Release queued',
      body: 'It runs in the background; this page shows its progress.',
    };
    req.portal!.dirty = true;
    throw new PortalRedirect(`/data-releases/${r.id}`);
  }

  @Get('data-releases/:id')
  async release(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Param('id', ParseUUIDPipe) id: string,
  ) {
    const release = await this.api.expect<Release>(req, 'GET', `/api/releases/${id}`);
    const bid = await getBid(this.api, req, release.bidId!).catch(() => undefined);
    const m = release.manifest ?? {};
    const manifestRows = Object.entries(m)
      .filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
      .map(([k, v]) => ({
        key: { text: humanise(k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()) },
        value: { text: String(v) },
      }));
    this.views.page(req, reply, 'release.njk', {
      release,
      bid,
      riskReport: (release as { riskReport?: unknown }).riskReport,
      running: ['queued', 'running'].includes(release.state),
      progress: progressOf(release),
      exclusions: exclusionReport(release, bid?.legalBasis),
      failure: failureOf(release.failureReason),
      manifestRows,
    });
  }
}
