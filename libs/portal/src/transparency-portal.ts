import { Get, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalViews } from './portal-views';
import { formErrors, str } from './form';
import { CALENDAR_YEARS } from '@custodian/core';
import type { ClockView, MonthStatistics } from '@custodian/transparency';

/** Live clocks, risk reports and published statistics in the portal (#24). */

/** A request's clock as `GET /api/bids/:id/clock` answers it (JSON: dates as strings). */
export type PortalClock = ClockView;

/** The request's clock (GET /api/bids/:id/clock), or nothing when it cannot be read. */
export async function getClock(
  api: PortalApi,
  req: PortalRequest,
  id: string,
): Promise<PortalClock | undefined> {
  const res = await api.call<PortalClock>(req, 'GET', `/api/bids/${id}/clock`);
  return res.status === 200 ? res.body : undefined;
}

type MonthFigures = MonthStatistics;

export interface ChartBar {
  x: number;
  y: number;
  width: number;
  height: number;
  value: number;
  series: string;
  label: string;
}

/**
 * Bars of requests received and decided per month, for an SVG drawn on the server (no script).
 * The chart is decoration for sighted readers: every figure is also in the table beside it.
 */
export function statisticsChart(months: MonthFigures[], height = 160, barWidth = 14) {
  const max = Math.max(1, ...months.flatMap((m) => [m.received, m.decided]));
  const step = barWidth * 2 + 12;
  const bars: ChartBar[] = months.flatMap((m, i) =>
    (['received', 'decided'] as const).map((series, j) => {
      const value = m[series];
      const h = Math.round((value / max) * height);
      return {
        x: 30 + i * step + j * barWidth,
        y: height - h + 10,
        width: barWidth - 2,
        height: h,
        value,
        series,
        label: `${m.month}: ${value} ${series}`,
      };
    }),
  );
  return {
    width: 40 + months.length * step,
    height: height + 40,
    baseline: height + 10,
    max,
    bars,
    labels: months.map((m, i) => ({ x: 30 + i * step, text: m.month.slice(2) })),
  };
}

/**
 * The API's limit on months at a time (`MAX_STATISTICS_MONTHS` of libs/transparency, which its index
 * does not export yet): the page says it by the field; were the two to differ, the API's refusal
 * still shows, by the from month.
 */
const MAX_STATISTICS_MONTHS = 240;

const ISO_MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

@PortalController()
@UseGuards(PortalAuthGuard)
export class TransparencyPortalController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
  ) {}

  // Not `/statistics`: the API's global prefix leaves portal paths out, and `/api/statistics` exists.
  @Get('published-statistics')
  @PageAccess('public')
  async statistics(
    @Req() req: PortalRequest,
    @Res() reply: FastifyReply,
    @Query() q: Record<string, string>,
  ) {
    const from = str(q.from);
    const to = str(q.to);
    // The API's own rules, checked here to put each error by its field in plain words (as the
    // register's dates are): a real month of the calendar's years, from not after to, at most
    // MAX_STATISTICS_MONTHS at a time. The API still has the last word (below).
    const errors = formErrors();
    const params = new URLSearchParams();
    const monthOf = (v: string) => {
      const m = ISO_MONTH.exec(v);
      const y = Number(m?.[0].slice(0, 4));
      return m && y >= CALENDAR_YEARS.min && y <= CALENDAR_YEARS.max
        ? y * 12 + Number(v.slice(5)) - 1
        : undefined;
    };
    for (const [name, value] of [
      ['from', from],
      ['to', to],
    ] as const)
      if (value && monthOf(value) !== undefined) params.set(name, value);
      else if (value)
        errors.add(
          name,
          `Enter the ${name} month as a year and month of ${CALENDAR_YEARS.min}-${CALENDAR_YEARS.max}, like ${name === 'from' ? '2026-01' : '2026-12'}`,
        );
    if (!errors.any()) {
      const now = new Date();
      const end = to ? monthOf(to)! : now.getUTCFullYear() * 12 + now.getUTCMonth();
      const start = from ? monthOf(from)! : end - 11;
      const years = MAX_STATISTICS_MONTHS / 12;
      if (start > end)
        errors.add(
          to ? 'to' : 'from',
          to
            ? 'The to month must be the same as or after the from month'
            : 'The from month must not be after this month',
        );
      else if (end - start + 1 > MAX_STATISTICS_MONTHS)
        errors.add(
          'to',
          `Choose at most ${MAX_STATISTICS_MONTHS} months (${years} years) at a time: the to month is ${end - start + 1 - MAX_STATISTICS_MONTHS} months too late`,
        );
    }
    type Figures = {
      months: MonthFigures[];
      objectionsInForce: { type1: number | '*'; type2: number | '*' };
      targets: { screeningWorkingDays: number; decisionDays: number };
      notes: string;
      generatedAt: string;
    };
    let res = errors.any()
      ? undefined
      : await this.api.anonymous<Figures>(req, 'GET', `/api/statistics?${params}`);
    // Months the API will not publish all the same: by the months' fields, in words.
    if (res?.status === 400) errors.add('from', 'These months cannot be shown: choose others');
    // With an error, the page shows the last twelve months under the form (the error says why).
    if (errors.any()) {
      params.delete('from');
      params.delete('to');
      res = await this.api.anonymous<Figures>(req, 'GET', `/api/statistics`);
    }
    const stats = res?.status === 200 ? res.body : undefined;
    const csv = new URLSearchParams(params);
    csv.set('format', 'csv');
    this.views.page(
      req,
      reply,
      'statistics.njk',
      {
        stats,
        chart: stats ? statisticsChart(stats.months) : undefined,
        csvHref: `/api/statistics?${csv}`,
        jsonHref: `/api/statistics?${params}`,
        from: errors.any() ? from : (params.get('from') ?? ''),
        to: errors.any() ? to : (params.get('to') ?? ''),
        errors: errors.list,
        fieldErrors: errors.byField,
      },
      errors.any() ? 400 : 200,
    );
  }
}

/**
 * A reviewer's list in the order of their queue (GET /api/queue: overdue first, then longest
 * waiting), each bid with its clock; bids the queue does not hold keep their order after them.
 */
export async function inQueueOrder<T extends { id: string }>(
  api: PortalApi,
  req: PortalRequest,
  bids: T[],
): Promise<(T & { clock?: PortalClock })[]> {
  const res = await api.call<{ bidId: string; clock: PortalClock }[]>(req, 'GET', '/api/queue');
  if (res.status !== 200 || !Array.isArray(res.body)) return bids;
  const rank = new Map(res.body.map((q, i) => [q.bidId, i]));
  const clocks = new Map(res.body.map((q) => [q.bidId, q.clock]));
  return bids
    .map((b, i) => ({ b, i }))
    .sort((x, y) => (rank.get(x.b.id) ?? res.body.length + x.i) - (rank.get(y.b.id) ?? res.body.length + y.i))
    .map(({ b }) => ({ ...b, clock: clocks.get(b.id) }));
}
