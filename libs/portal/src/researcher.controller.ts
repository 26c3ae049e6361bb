import { PATTERNS } from './patterns';
import { Body, Get, Headers, Param, ParseUUIDPipe, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { ApiCallError, PortalRedirect } from './portal-errors';
import { PortalViews } from './portal-views';
import { all, commaList, FormBody, formErrors, str } from './form';
import { CatalogAnswer, columnMapping, releaseColumns, TIERS } from './columns';
import { Bid, BidEvent, getBid, getCatalog, listBids, releasesOfBid } from './bids-api';
import { getClock } from './transparency-portal';

const LEGAL_BASES: [string, string][] = [
  ['consent', 'Consent (attach the consenting cohort)'],
  ['s251', 'Section 251 support'],
  ['public_health_emergency', 'Public health emergency (civil emergency notice)'],
  ['statutory', 'Statutory'],
  ['none', 'None (anonymised or aggregate data only)'],
];
const TIER_TEXT: Record<string, string> = {
  identifiable: 'Identifiable: NHS number, date of birth and postcode as held',
  pseudonymised: 'Pseudonymised: pseudo ID, year and month of birth, postcode district',
  anonymised: 'Anonymised: random person token, age band, area; k-anonymity applied',
  aggregate: 'Aggregate: counts of patients by the dimensions you choose',
};
const ISO_DATE = PATTERNS.isoDate;

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
    const bids = await listBids(this.api, req);
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
    const errors = formErrors();
    const values: Record<string, unknown> = Object.fromEntries(
      Object.entries(body).filter(([k]) => k !== '_csrf'),
    );
    const title = str(body.title);
    const purpose = str(body.purpose);
    const publicBenefit = str(body.publicBenefit);
    const requestedTier = str(body.requestedTier);
    const legalBasis = str(body.legalBasis);
    if (title.length < 3) errors.add('title', 'Enter a title of at least 3 characters');
    if (purpose.length < 10) errors.add('purpose', 'Enter the purpose, in at least 10 characters');
    if (publicBenefit.length < 10)
      errors.add('publicBenefit', 'Enter the public benefit, in at least 10 characters');
    if (!(TIERS as readonly string[]).includes(requestedTier))
      errors.add('requestedTier', 'Select the tier of data', 'requestedTier');
    if (!LEGAL_BASES.some(([b]) => b === legalBasis))
      errors.add('legalBasis', 'Select the legal basis', 'legalBasis');
    const datasets = catalog.datasets
      .map((d) => ({ dataset: d.id, fields: all(body[`fields_${d.id}`]) }))
      .filter((d) => d.fields.length > 0);
    if (!datasets.length)
      errors.add(
        'datasets',
        'Select at least one field of at least one dataset',
        `fields-${catalog.datasets[0]?.id}`,
      );
    const dimensions = all(body.dimensions);
    if (requestedTier === 'aggregate' && !dimensions.length)
      errors.add('dimensions', 'Select at least one dimension to count by', 'dimensions');
    const cohort: Record<string, unknown> = {};
    const practices = commaList(body.practices).map((p) => p.toUpperCase());
    if (practices.some((p) => !PATTERNS.odsCode.test(p)))
      errors.add('practices', 'Enter ODS codes as a letter and five digits, like A81001');
    else if (practices.length) cohort.practices = practices;
    const areas = commaList(body.postcodeAreas).map((p) => p.toUpperCase());
    if (areas.some((a) => !PATTERNS.postcodeArea.test(a)))
      errors.add('postcodeAreas', 'Enter postcode areas as 1 or 2 letters, like LS');
    else if (areas.length) cohort.postcodeAreas = areas;
    const codes = commaList(body.conditionCodes);
    if (codes.some((c) => !PATTERNS.clinicalCode.test(c)))
      errors.add('conditionCodes', 'Enter clinical codes of letters, digits and dots');
    else if (codes.length) cohort.conditionCodes = codes;
    for (const k of ['eventsFrom', 'eventsTo'] as const) {
      const v = str(body[k]);
      if (v && !ISO_DATE.test(v)) errors.add(k, 'Enter the date as YYYY-MM-DD, for example 2010-01-31');
      else if (v) cohort[k] = v;
    }
    for (const k of ['ageMin', 'ageMax'] as const) {
      const v = str(body[k]);
      if (v && !PATTERNS.age.test(v)) errors.add(k, 'Enter an age in whole years, from 0 to 130');
      else if (v) cohort[k] = Number(v);
    }
    const duration = str(body.durationMonths);
    if (!PATTERNS.durationMonths.test(duration) || Number(duration) < 1 || Number(duration) > 36)
      errors.add('durationMonths', 'Enter a duration from 1 to 36 months');
    if (errors.any()) return this.form(req, reply, catalog, values, errors, 400);

    const dto: Record<string, unknown> = {
      title,
      purpose,
      publicBenefit,
      legalBasis,
      requestedTier,
      datasets,
      cohort,
      durationMonths: Number(duration),
    };
    const reference = str(body.legalBasisReference);
    if (reference) dto.legalBasisReference = reference;
    if (requestedTier === 'aggregate') dto.aggregation = { dimensions };
    const res = await this.api.call<Bid & { message?: string }>(req, 'POST', '/api/bids', dto);
    if (res.status === 201) {
      req.portal!.session.flash = {
        title: 'Draft request saved',
        body: 'Check it, then submit it for screening.',
      };
      req.portal!.dirty = true;
      throw new PortalRedirect(`/requests/${res.body.id}`);
    }
    if (res.status === 400) {
      // The API has the last word (tier against legal basis, catalogue, duration for the organisation's kind).
      errors.add('title', `The request was not accepted: ${res.body.message ?? 'check your answers'}`);
      return this.form(req, reply, catalog, values, errors, 400);
    }
    throw new ApiCallError(res.status, res.body);
  }

  private form(
    req: PortalRequest,
    reply: FastifyReply,
    catalog: CatalogAnswer,
    values: Record<string, unknown>,
    errors: ReturnType<typeof formErrors>,
    status = 200,
  ) {
    const chosen = (name: string) => all(values[name]);
    this.views.page(
      req,
      reply,
      'request-form.njk',
      {
        values,
        errors: errors.list,
        fieldErrors: errors.byField,
        tierItems: TIERS.map((t) => ({ value: t, text: TIER_TEXT[t], checked: values.requestedTier === t })),
        legalBasisItems: LEGAL_BASES.map(([value, text]) => ({
          value,
          text,
          checked: values.legalBasis === value,
        })),
        datasetItems: catalog.datasets.map((d) => ({
          id: d.id,
          title: d.title,
          description: d.description,
          items: d.fields.map((f) => ({
            value: f.name,
            text: f.name,
            hint: { text: `${f.description} (${f.classification.replace(/_/g, ' ')})` },
            checked: chosen(`fields_${d.id}`).includes(f.name),
          })),
        })),
        dimensionItems: catalog.dimensions.map((d) => ({
          value: d.name,
          text: d.name,
          hint: { text: d.description },
          checked: chosen('dimensions').includes(d.name),
        })),
        mappingJson: JSON.stringify({
          mapping: columnMapping(catalog),
          titles: Object.fromEntries(catalog.datasets.map((d) => [d.id, d.title])),
        }),
      },
      status,
    );
  }

  @Get(':id')
  async show(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Param('id', ParseUUIDPipe) id: string) {
    const bid = await getBid(this.api, req, id);
    const [catalog, events, releases] = await Promise.all([
      getCatalog(this.api, req),
      this.api.expect<BidEvent[]>(req, 'GET', `/api/bids/${id}/events`),
      ['active', 'expired', 'revoked', 'closed'].includes(bid.state) ? releasesOfBid(this.api, req, id) : [],
    ]);
    const decision = events
      .filter((e) => ['approved', 'rejected', 'returned'].includes(e.toState ?? ''))
      .at(-1);
    this.views.page(req, reply, 'request.njk', {
      bid,
      clock: await getClock(this.api, req, id),
      columns: bidColumns(catalog, bid),
      remarks: events.filter((e) => e.remarks),
      releases,
      decisionText: decision
        ? `${decision.toState![0].toUpperCase()}${decision.toState!.slice(1)}`
        : bid.state,
    });
  }

  @Post(':id/submit')
  async submit(@Req() req: PortalRequest, @Param('id', ParseUUIDPipe) id: string) {
    await this.api.expect(req, 'POST', `/api/bids/${id}/submit`);
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
    @Param('releaseId', ParseUUIDPipe) releaseId: string,
    @Param('name') name: string,
    @Headers('range') range?: string,
  ) {
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
