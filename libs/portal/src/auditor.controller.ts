import { Readable } from 'node:stream';
import { Get, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { spreadsheetText } from '@custodian/core';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalViews } from './portal-views';
import { formErrors, isCalendarDate, str } from './form';
import { PATTERNS } from './patterns';

const PAGE_SIZE = 50;
/** The export reads the API's pages of this size, and stops after this many entries. */
const EXPORT_PAGE = 500;
const EXPORT_MAX = 200_000;
const OUTCOMES = ['success', 'failure', 'denied', 'pending', 'approved', 'rejected', 'returned', 'refused'];
const EXPORT_COLUMNS = [
  'id',
  'at',
  'actor_id',
  'actor_roles',
  'action',
  'outcome',
  'bid_id',
  'subject_type',
  'subject_id',
  'ip',
  'details',
];
const ACTION = /^[a-z_]+(\.[a-z_]+){0,3}$/;

interface AuditEntry {
  id: string;
  at: string;
  actorId: string | null;
  actorRoles: string[];
  action: string;
  outcome: string;
  bidId: string | null;
  subjectType: string | null;
  subjectId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}
interface AuditPage {
  items: AuditEntry[];
  page: number;
  limit: number;
  total: number;
}

/** The last instant of a calendar day (an inclusive "to" date). */
const endOfDay = (s: string) => {
  const start = Date.parse(`${s}T00:00:00Z`);
  // Not a date (`31/12/2026`, `tomorrow`): its field error is already said; nothing to ask for (it
  // was a RangeError and a 500: probe 24).
  return Number.isFinite(start) ? new Date(start + 86_400_000 - 1).toISOString() : undefined;
};

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  // Quoted, and what a spreadsheet would run as a formula neutralised, at the cell's start and after
  // each `;` (probe 36: anyone puts text here, e.g. the email of a failed sign-in).
  return `"${spreadsheetText(s).replace(/"/g, '""')}"`;
};

/**
 * The auditor's pages: the audit trail with filters, paging and a CSV export of what the filters
 * select, and verification of the hash chain (the first broken entry when it is broken). Reads the
 * API's `GET /api/audit` and `GET /api/audit/verify`.
 */
@PortalController('audit-trail')
@UseGuards(PortalAuthGuard)
@PageAccess(['auditor'])
export class AuditorController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
  ) {}

  private filters(q: Record<string, string>) {
    const f = {
      actor: str(q.actor),
      action: str(q.action),
      outcome: str(q.outcome),
      bid: str(q.bid),
      from: str(q.from),
      to: str(q.to),
    };
    const errors = formErrors();
    if (f.actor && !PATTERNS.uuid.test(f.actor)) errors.add('actor', 'Enter the actor’s user id (a UUID)');
    if (f.action && (f.action.length > 80 || !ACTION.test(f.action)))
      errors.add('action', 'Enter an action like auth.login or bid.submit');
    if (f.outcome && !OUTCOMES.includes(f.outcome)) errors.add('outcome', 'Choose an outcome from the list');
    if (f.bid && !PATTERNS.uuid.test(f.bid)) errors.add('bid', 'Enter the request’s id (a UUID)');
    if (f.from && !isCalendarDate(f.from))
      errors.add('from', 'Enter the from date as a real date YYYY-MM-DD, for example 2026-01-31');
    if (f.to && !isCalendarDate(f.to))
      errors.add('to', 'Enter the to date as a real date YYYY-MM-DD, for example 2026-12-31');
    if (f.from && f.to && !errors.byField.from && !errors.byField.to && f.from > f.to)
      errors.add('to', 'The to date must be the same as or after the from date');
    const params = new URLSearchParams();
    if (f.actor) params.set('actorId', f.actor);
    if (f.action) params.set('action', f.action);
    if (f.outcome) params.set('outcome', f.outcome);
    if (f.bid) params.set('bidId', f.bid);
    if (f.from) params.set('from', `${f.from}T00:00:00.000Z`);
    const to = f.to ? endOfDay(f.to) : undefined;
    if (to) params.set('to', to);
    const own = new URLSearchParams(Object.entries(f).filter(([, v]) => v) as [string, string][]);
    return { f, errors, params, own };
  }

  @Get()
  async trail(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Query() q: Record<string, string>) {
    const { f, errors, params, own } = this.filters(q);
    const filtersOk = !errors.any();
    const asked = str(q.page);
    // Not a page number ("abc", "-1", "2.5"): an error, and the first page. Past the last page: the
    // last page, and the page says so (an outsider's probe: both silently showed page 1).
    const wellFormed = /^\d{1,7}$/.test(asked || '1') && Number(asked || '1') >= 1;
    if (!wellFormed)
      errors.add('page', `“${asked.slice(0, 20)}” is not a page number: showing page 1`, 'pages');
    const requested = wellFormed ? Number(asked || '1') : 1;
    let pageNotice: string | undefined;
    let result: AuditPage = { items: [], page: 1, limit: PAGE_SIZE, total: 0 };
    if (filtersOk) {
      params.set('limit', String(PAGE_SIZE));
      const read = (p: number) => {
        params.set('page', String(p));
        return this.api.call<AuditPage>(req, 'GET', `/api/audit?${params}`);
      };
      let res = await read(requested);
      if (requested > 1 && (res.status === 400 || (res.status === 200 && !res.body.items.length))) {
        const first = requested === 1 ? res : await read(1);
        const last = first.status === 200 ? Math.max(1, Math.ceil(first.body.total / PAGE_SIZE)) : 1;
        pageNotice = `There is no page ${requested.toLocaleString('en-GB')}: this is the last page, ${last.toLocaleString('en-GB')}.`;
        res = last === 1 ? first : await read(last);
      }
      if (res.status === 200) result = res.body;
    }
    const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
    const link = (p: number) => {
      const u = new URLSearchParams(own);
      u.set('page', String(p));
      return `/audit-trail?${u}`;
    };
    this.views.page(
      req,
      reply,
      'operations/audit-trail.njk',
      {
        filters: f,
        entries: result.items,
        total: result.total,
        page: result.page,
        pages,
        previous: result.page > 1 ? link(result.page - 1) : undefined,
        next: result.page < pages ? link(result.page + 1) : undefined,
        exportHref: `/audit-trail/export?${own}`,
        pageNotice,
        filtersOk,
        errors: errors.list,
        fieldErrors: errors.byField,
        outcomeOptions: [
          { value: '', text: 'Any outcome' },
          ...OUTCOMES.map((o) => ({ value: o, text: o, selected: f.outcome === o })),
        ],
      },
      errors.any() ? 400 : 200,
    );
  }

  /** The entries the filters select, as CSV, streamed page by page from the API. */
  @Get('export')
  async export(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Query() q: Record<string, string>) {
    const { errors, params } = this.filters(q);
    if (errors.any()) return this.trail(req, reply, q);
    params.set('limit', String(EXPORT_PAGE));
    params.set('page', '1');
    const first = await this.api.expect<AuditPage>(req, 'GET', `/api/audit?${params}`);
    const api = this.api;
    async function* rows(): AsyncGenerator<string> {
      yield `${EXPORT_COLUMNS.join(',')}\n`;
      let body = first;
      let written = 0;
      for (let p = 1; ;) {
        let chunk = '';
        for (const e of body.items)
          chunk += `${[
            e.id,
            e.at,
            e.actorId,
            e.actorRoles.join(' '),
            e.action,
            e.outcome,
            e.bidId,
            e.subjectType,
            e.subjectId,
            e.ip,
            e.details,
          ]
            .map(csvCell)
            .join(',')}\n`;
        yield chunk;
        written += body.items.length;
        if (written >= Math.min(body.total, EXPORT_MAX) || body.items.length === 0) return;
        params.set('page', String(++p));
        const res = await api.call<AuditPage>(req, 'GET', `/api/audit?${params}`);
        if (res.status !== 200) return;
        body = res.body;
      }
    }
    reply
      .status(200)
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="audit-trail.csv"')
      .header('cache-control', 'no-store')
      .send(Readable.from(rows()));
  }

  @Get('verify')
  async verify(@Req() req: PortalRequest, @Res() reply: FastifyReply) {
    const result = await this.api.expect<{
      ok: boolean;
      checked: number;
      firstBroken?: { id: string; reason: string };
    }>(req, 'GET', '/api/audit/verify');
    let broken: AuditEntry | undefined;
    if (result.firstBroken) {
      // The entry itself, for the page (the trail is newest first: find it by paging from its id).
      const res = await this.api.call<AuditPage>(req, 'GET', `/api/audit?limit=1&page=1`);
      if (res.status === 200 && res.body.items[0]) {
        const newest = Number(res.body.items[0].id);
        const position = newest - Number(result.firstBroken.id) + 1;
        if (position >= 1) {
          const at = await this.api.call<AuditPage>(req, 'GET', `/api/audit?limit=1&page=${position}`);
          if (at.status === 200 && at.body.items[0]?.id === result.firstBroken.id) broken = at.body.items[0];
        }
      }
    }
    this.views.page(req, reply, 'operations/audit-verify.njk', { result, broken, backHref: '/audit-trail' });
  }
}
