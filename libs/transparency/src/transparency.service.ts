import { BID_EVENTS_SOURCE, BIDS_SOURCE } from '@custodian/bids';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BidsService } from '@custodian/bids';
import {
  APP_CONFIG,
  type AppConfig,
  CALENDAR_YEARS,
  ForbiddenError,
  type Principal,
  ValidationError,
} from '@custodian/core';
import { PRIMARY_MAX, roundToBase, shownCount } from '@custodian/release';
import { type ClockView, computeClock } from './clocks';
import { TRANSPARENCY_ERRORS } from './transparency.errors';
import { MONTHS_SQL, OBJECTIONS_IN_FORCE_SQL, RELEASES_SQL } from './statistics.sql';

/** The longest range of `GET /api/statistics`: twenty years of months. */
export const MAX_STATISTICS_MONTHS = 240;

export interface MonthStatistics {
  month: string;
  received: number;
  decided: number;
  approved: number;
  rejected: number;
  returned: number;
  /** Days, one decimal; null where nothing ended in the month. */
  screeningMedianDays: number | null;
  screeningP90Days: number | null;
  decisionMedianDays: number | null;
  decisionP90Days: number | null;
  firstReleaseMedianDays: number | null;
  firstReleaseP90Days: number | null;
  releases: { tier: string; legalBasis: string; releases: number }[];
  /** Per completed release: the share (whole %) of its population that objections removed; `*` for 0–7 persons. */
  objectionShares: { releaseId: string; removedShare: number | '*' }[];
}

export interface Statistics {
  generatedAt: string;
  targets: { screeningWorkingDays: number; decisionDays: number };
  objectionsInForce: { type1: number | '*'; type2: number | '*' };
  months: MonthStatistics[];
  notes: string;
}

export interface QueueItem {
  bidId: string;
  title: string;
  clock: ClockView;
}

const ISO_MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/**
 * Live clocks on requests and the published turnaround statistics (#24). Reads bids, their
 * events, agreements, releases and the objection register (named queries of one file, read only).
 */
@Injectable()
export class TransparencyService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly bids: BidsService,
  ) {}

  private get targets() {
    return {
      screeningWorkingDays: this.config.targetScreeningWorkingDays,
      decisionDays: this.config.targetDecisionDays,
    };
  }

  /** The clock of one request, for whoever may read it (scoped by the bids service: 404 otherwise). */
  async clock(user: Principal, bidId: string, now = new Date()): Promise<ClockView> {
    const bid = await this.bids.get(user, bidId);
    const [clock] = await this.clocksOf([bid.id], now);
    return clock.clock;
  }

  /**
   * The caller's queue, overdue first then longest waiting: a release officer's submitted
   * requests awaiting screening, a panel member's requests in review — never their organisation's own.
   */
  async queue(user: Principal, now = new Date()): Promise<QueueItem[]> {
    const states = [
      ...(user.roles.includes('release_officer') ? ['submitted'] : []),
      ...(user.roles.includes('panel_member') ? ['in_review'] : []),
    ];
    if (!states.length)
      throw new ForbiddenError(
        TRANSPARENCY_ERRORS.FORBIDDEN,
        'only release officers and panel members have a queue',
      );
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM ${BIDS_SOURCE} WHERE state = ANY($1) AND organisation_id IS DISTINCT FROM $2::uuid`,
      [states, user.organisationId ?? null],
    );
    const items = await this.clocksOf(
      rows.map((r) => r.id),
      now,
    );
    return items.sort(
      (a, b) =>
        Number(b.clock.overdue) - Number(a.clock.overdue) ||
        Date.parse(a.clock.stage.since) - Date.parse(b.clock.stage.since),
    );
  }

  private async clocksOf(ids: string[], now: Date): Promise<QueueItem[]> {
    if (!ids.length) return [];
    const rows: {
      id: string;
      title: string;
      state: string;
      created_at: Date;
      events: { at: string; from_state: string | null; to_state: string | null }[] | null;
    }[] = await this.db.query(
      `SELECT b.id, b.title, b.state, b.created_at,
              (SELECT json_agg(json_build_object('at', e.at, 'from_state', e.from_state, 'to_state', e.to_state) ORDER BY e.id)
                 FROM ${BID_EVENTS_SOURCE} e WHERE e.bid_id = b.id AND e.to_state IS NOT NULL) AS events
         FROM ${BIDS_SOURCE} b WHERE b.id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map((r) => ({
      bidId: r.id,
      title: r.title,
      clock: computeClock(
        { state: r.state, createdAt: new Date(r.created_at) },
        (r.events ?? []).map((e) => ({ at: new Date(e.at), fromState: e.from_state, toState: e.to_state })),
        now,
        this.targets,
      ),
    }));
  }

  async statistics(q: { from?: string; to?: string }, now = new Date()): Promise<Statistics> {
    const month = (s: string) => {
      const m = ISO_MONTH.exec(s)!;
      // Date.UTC reads years 0-99 as 1900-1999: a month of another year than asked is refused.
      const y = Number(m[1]);
      if (y < CALENDAR_YEARS.min || y > CALENDAR_YEARS.max)
        throw new ValidationError(
          TRANSPARENCY_ERRORS.VALIDATION_FAILED,
          `a month of ${CALENDAR_YEARS.min}-${CALENDAR_YEARS.max} (months)`,
        );
      return new Date(Date.UTC(y, Number(m[2]) - 1, 1));
    };
    const to = q.to ? month(q.to) : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const from = q.from ? month(q.from) : new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth() - 11, 1));
    // A public route: the answer is bounded (a month a row; 0001-01 to 9999-12 was 26.8 MB, and a
    // few such requests at once ran the API out of memory).
    const span =
      (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth() + 1;
    if (span < 1)
      throw new ValidationError(
        TRANSPARENCY_ERRORS.VALIDATION_FAILED,
        'from must be a month no later than to (months)',
      );
    if (span > MAX_STATISTICS_MONTHS)
      throw new ValidationError(
        TRANSPARENCY_ERRORS.VALIDATION_FAILED,
        `at most ${MAX_STATISTICS_MONTHS} months at a time (${span} months asked for)`,
      );
    const params = [from.toISOString().slice(0, 10), to.toISOString().slice(0, 10)];
    const months: Record<string, unknown>[] = await this.db.query(MONTHS_SQL, params);
    const releases: {
      month: string;
      id: string;
      tier: string;
      legal_basis: string;
      excluded: { persons?: Record<string, number>; included?: number } | null;
    }[] = await this.db.query(RELEASES_SQL, params);
    const [objections] = await this.db.query(OBJECTIONS_IN_FORCE_SQL);
    const byMonth = new Map<string, MonthStatistics>();
    const out: MonthStatistics[] = months.map((m) => {
      const s: MonthStatistics = {
        month: m.month as string,
        received: m.received as number,
        decided: m.decided as number,
        approved: m.approved as number,
        rejected: m.rejected as number,
        returned: m.returned as number,
        screeningMedianDays: m.screening_median as number | null,
        screeningP90Days: m.screening_p90 as number | null,
        decisionMedianDays: m.decision_median as number | null,
        decisionP90Days: m.decision_p90 as number | null,
        firstReleaseMedianDays: m.first_release_median as number | null,
        firstReleaseP90Days: m.first_release_p90 as number | null,
        releases: [],
        objectionShares: [],
      };
      byMonth.set(s.month, s);
      return s;
    });
    for (const r of releases) {
      const s = byMonth.get(r.month);
      if (!s) continue;
      const row = s.releases.find((x) => x.tier === r.tier && x.legalBasis === r.legal_basis);
      if (row) row.releases++;
      else s.releases.push({ tier: r.tier, legalBasis: r.legal_basis, releases: 1 });
      const persons = r.excluded?.persons ?? {};
      const removed = (persons.type1_objection ?? 0) + (persons.type2_objection ?? 0);
      const population =
        Object.values(persons).reduce((a, b) => a + Number(b), 0) + Number(r.excluded?.included ?? 0);
      s.objectionShares.push({
        releaseId: r.id,
        // 0-7 alike: with `0` beside `*`, a `*` said someone here objected, and a release's `0`
        // turning `*` told anyone that a person the recipient no longer saw had objected (probe 38;
        // the public risk report's rule, threat 210).
        removedShare:
          removed <= PRIMARY_MAX
            ? '*'
            : // of the counts as shown (rounded to 5): an exact share gives back what rounding hides
              roundToBase(population)
              ? Math.round((roundToBase(removed) / roundToBase(population)) * 100)
              : 0,
      });
    }
    return {
      generatedAt: now.toISOString(),
      targets: this.targets,
      objectionsInForce: { type1: shownCount(objections.type1), type2: shownCount(objections.type2) },
      months: out,
      notes:
        'Months are calendar months (UTC) of the event counted. Days are calendar days, median and 90th percentile, from the first submission to the first screening and to the decision, and from the agreement to the first release. Working days are Monday to Friday; bank holidays are not counted as non-working. Objection counts: 1-7 shown as *, others rounded to the nearest 5; shares are whole percentages, * where 0-7 persons were removed.',
    };
  }
}

export const STATISTICS_CSV_COLUMNS = [
  'month',
  'received',
  'decided',
  'approved',
  'rejected',
  'returned',
  'screeningMedianDays',
  'screeningP90Days',
  'decisionMedianDays',
  'decisionP90Days',
  'firstReleaseMedianDays',
  'firstReleaseP90Days',
  'releases',
] as const;

/** One line per month; `releases` is the month's completed releases (all tiers and bases). */
export function statisticsCsv(s: Statistics): string {
  const lines = [STATISTICS_CSV_COLUMNS.join(',')];
  for (const m of s.months)
    lines.push(
      STATISTICS_CSV_COLUMNS.map((c) =>
        c === 'releases' ? m.releases.reduce((a, r) => a + r.releases, 0) : (m[c] ?? ''),
      ).join(','),
    );
  return `${lines.join('\r\n')}\r\n`;
}
