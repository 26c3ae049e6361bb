import { AGREEMENTS_SOURCE, BID_VERSIONS_SOURCE, BIDS_SOURCE } from '@custodian/bids';
import { ORGANISATIONS_SOURCE } from '@custodian/identity';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig, spreadsheetText } from '@custodian/core';
import { ChangeFeed, FeedCache } from '@custodian/database';
import { objectionHandling, REGISTER_STATES, type LegalBasis } from '@custodian/bids';
import type { Tier } from '@custodian/catalog';
import type { RegisterLineDto, RegisterQueryDto } from './dto';
import type { RegisterChainLine } from './register-chain';

interface Row {
  type: 'decision' | 'release' | 'amendment';
  date: Date;
  bid_id: string;
  release_id: string | null;
  organisation: string;
  organisation_kind: string;
  title: string;
  purpose: string;
  datasets: { dataset: string }[];
  tier: Tier;
  legal_basis: LegalBasis;
  legal_basis_reference: string | null;
  status: string;
  agreement_reference: string | null;
  agreement_start: string | null;
  agreement_end: string | null;
  objections_applied: boolean | null;
  objections_note: string | null;
  details: {
    destroyedAt?: string;
    destructionReason?: string;
    differencingGuard?: string;
    independentlyVerified?: boolean;
  } | null;
  log_line: RegisterChainLine | null;
}

/** A release's line on the register, as the release module hands it over. */
export interface ReleaseRegisterEntry {
  bidId: string;
  releaseId: string;
  tier: Tier;
  objectionsApplied: boolean;
  objectionsNote: string | null;
  datasets: string[];
  agreementReference: string;
  independentlyVerified: boolean;
  /** Where the aggregate differencing guard compared the table with earlier ones: what the line says of it; else null. */
  differencingGuard?: string | null;
}

/**
 * The public register (SPEC §6). One line per bid the panel approved (derived from bids and their
 * first agreement, so its status follows the bid), one per approved amendment (#25: the new bid
 * version and its agreement version), and one line per release: a row of
 * `register_entries`, written here only (STYLE 13), in the caller's transaction — the one that
 * completes the release, and the one that records its destruction.
 */
@Injectable()
export class RegisterService {
  /**
   * The whole register (no filter), its lines and their JSON body, kept for `CACHE_SECONDS` while
   * the change feed listens: emptied by any committed change to a table it reads (bids and
   * agreements on `custodian_bids`; register entries and log, bid versions and organisations on
   * `custodian_register`), by any commit of this process (it reads its own writes), and while the
   * feed is down. Filtered registers are read every time (one entry only: a public route).
   */
  private readonly whole: FeedCache<{ lines: RegisterLineDto[]; json: Buffer }>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    feed: ChangeFeed,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.whole = new FeedCache(feed, config.cacheSeconds * 1000, 1);
    feed.on('custodian_bids', () => this.whole.clear());
    feed.on('custodian_register', () => this.whole.clear());
    feed.onLocalCommit(() => this.whole.clear());
  }

  /** The register's lines as `lines(q)` gives them, and for JSON also encoded (RegisterLineDto[]). */
  async answer(q: RegisterQueryDto): Promise<{ lines: RegisterLineDto[]; json: Buffer }> {
    const unfiltered = !q.organisation && !q.tier && !q.legalBasis && !q.from && !q.to;
    if (!unfiltered) {
      const lines = await this.lines(q);
      return { lines, json: Buffer.from(JSON.stringify(lines), 'utf8') };
    }
    const hit = this.whole.get('all');
    if (hit) return hit;
    const begun = this.whole.begin();
    const lines = await this.lines(q);
    const answer = { lines, json: Buffer.from(JSON.stringify(lines), 'utf8') };
    this.whole.set('all', answer, begun);
    return answer;
  }

  /** The release's line, committed with the release itself. */
  async recordRelease(e: ReleaseRegisterEntry, tx: EntityManager): Promise<void> {
    await tx.query(
      `INSERT INTO register_entries (kind, bid_id, release_id, tier, objections_applied, objections_note, details)
       VALUES ('release', $1, $2, $3, $4, $5, $6)`,
      [
        e.bidId,
        e.releaseId,
        e.tier,
        e.objectionsApplied,
        e.objectionsNote,
        JSON.stringify({
          datasets: e.datasets,
          agreementReference: e.agreementReference,
          independentlyVerified: e.independentlyVerified,
          ...(e.differencingGuard ? { differencingGuard: e.differencingGuard } : {}),
        }),
      ],
    );
  }

  /** The register keeps the release's line and says its files were destroyed, and when. */
  async recordDestruction(releaseId: string, reason: string, tx: EntityManager): Promise<void> {
    await tx.query(
      `UPDATE register_entries SET details = details || jsonb_build_object('destroyedAt', now(), 'destructionReason', $2::text)
        WHERE release_id = $1`,
      [releaseId, reason],
    );
  }

  async lines(q: RegisterQueryDto): Promise<RegisterLineDto[]> {
    const params: unknown[] = [REGISTER_STATES];
    const where: string[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replaceAll('?', `$${params.length}`));
    };
    // "Contains", as text: `%` and `_` are characters of the name, not LIKE's wildcards (probe 20).
    if (q.organisation)
      add(
        `(strpos(lower(l.organisation), lower(?)) > 0 OR l.organisation_id::text = lower(?))`,
        q.organisation,
      );
    if (q.tier) add('l.tier = ?', q.tier);
    if (q.legalBasis) add('l.legal_basis = ?', q.legalBasis);
    if (q.from) add('l.date >= ?::date', q.from);
    if (q.to) add(`l.date < ?::date + 1`, q.to);
    const rows: Row[] = await this.db.query(
      `WITH lines AS (
         SELECT 'decision' AS type, b.decided_at AS date, b.id AS bid_id, NULL::uuid AS release_id, b.granted_tier AS tier,
                NULL::boolean AS objections_applied, NULL::text AS objections_note, NULL::jsonb AS details, b.id AS join_bid,
                1 AS version
           FROM ${BIDS_SOURCE} b WHERE b.state = ANY($1)
         UNION ALL
         SELECT 'amendment', v.decided_at, v.bid_id, NULL::uuid, bb.granted_tier, NULL::boolean, NULL::text, NULL::jsonb,
                v.bid_id, v.version
           FROM ${BID_VERSIONS_SOURCE} v JOIN ${BIDS_SOURCE} bb ON bb.id = v.bid_id
          WHERE v.version > 1 AND bb.state = ANY($1)
            AND (v.state IN ('approved', 'in_force', 'superseded')
                 -- Approved, then withdrawn (the applicant declined its agreement, or the request
                 -- was revoked first): the decision was made and signed into the log, so its line
                 -- stays (it vanished, and verify-register reported the log line's amendment
                 -- missing: an outsider's probe, 2026-12-07).
                 OR EXISTS (SELECT 1 FROM register_log g
                             WHERE g.kind = 'amendment' AND g.line->>'bidId' = v.bid_id::text
                               AND (g.line->>'version')::int = v.version))
         UNION ALL
         SELECT 'release', r.at, r.bid_id, r.release_id, r.tier, r.objections_applied, r.objections_note, r.details, r.bid_id,
                NULL::int
           FROM register_entries r
       )
       SELECT l.* FROM (
         SELECT x.type, x.date, x.bid_id, x.release_id, x.tier, x.objections_applied, x.objections_note, x.details,
                o.id AS organisation_id, o.name AS organisation, o.kind AS organisation_kind, b.title, b.purpose,
                coalesce(bv.datasets, b.datasets) AS datasets, b.legal_basis, b.legal_basis_reference, b.state AS status,
                a.reference AS agreement_reference, to_char(a.start_date, 'YYYY-MM-DD') AS agreement_start,
                to_char(a.end_date, 'YYYY-MM-DD') AS agreement_end, rl.line AS log_line
           FROM lines x
           LEFT JOIN register_log rl ON CASE WHEN x.type = 'release' THEN rl.release_id = x.release_id
                                             WHEN x.type = 'amendment' THEN rl.kind = 'amendment'
                                               AND rl.line->>'bidId' = x.bid_id::text AND (rl.line->>'version')::int = x.version
                                             ELSE rl.kind = 'decision' AND rl.line->>'bidId' = x.bid_id::text END
           JOIN ${BIDS_SOURCE} b ON b.id = x.join_bid
           JOIN ${ORGANISATIONS_SOURCE} o ON o.id = b.organisation_id
           -- Each version's own datasets (the snapshot of version 1 once the bid has been amended).
           LEFT JOIN ${BID_VERSIONS_SOURCE} bv ON bv.bid_id = b.id AND bv.version = x.version
           -- A release line: the agreement it ran under; a decision or amendment line: its version's.
           LEFT JOIN LATERAL (
             SELECT * FROM ${AGREEMENTS_SOURCE} ag
              WHERE ag.bid_id = b.id
                AND CASE WHEN x.type = 'release'
                         THEN ag.reference = coalesce(x.details->>'agreementReference', ag.reference)
                         ELSE ag.bid_version = x.version END
              ORDER BY ag.version DESC LIMIT 1) a ON true
       ) l
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY l.date DESC, l.bid_id, l.type`,
      params,
    );
    return rows.map((r) => {
      const releaseLine = r.log_line?.kind === undefined ? r.log_line : null;
      const handling =
        r.objections_applied === null
          ? objectionHandling(r.legal_basis, r.tier)
          : { applied: r.objections_applied, note: r.objections_note ?? '' };
      return {
        type: r.type,
        date: new Date(r.date).toISOString(),
        bidId: r.bid_id,
        releaseId: r.release_id,
        organisation: r.organisation,
        organisationKind: r.organisation_kind,
        commercial: r.organisation_kind === 'commercial',
        title: r.title,
        purpose: r.purpose,
        datasets: r.datasets.map((d) => d.dataset),
        tier: r.tier,
        legalBasis: r.legal_basis,
        legalBasisReference: r.legal_basis_reference,
        status: r.status,
        agreementReference: r.agreement_reference,
        agreementStart: r.agreement_start,
        agreementEnd: r.agreement_end,
        objectionsApplied: handling.applied,
        objectionsNote: handling.note,
        filesDestroyedAt: r.details?.destroyedAt ? new Date(r.details.destroyedAt).toISOString() : null,
        files: releaseLine?.files ?? [],
        registerSeq: r.log_line?.seq ?? null,
        riskReport: releaseLine?.riskReport ?? null,
        differencingGuard: r.details?.differencingGuard ?? null,
        independentlyVerified: r.type === 'release' ? r.details?.independentlyVerified === true : null,
      };
    });
  }
}

export const REGISTER_CSV_COLUMNS: (keyof RegisterLineDto)[] = [
  'type',
  'date',
  'organisation',
  'organisationKind',
  'commercial',
  'title',
  'purpose',
  'datasets',
  'tier',
  'legalBasis',
  'legalBasisReference',
  'status',
  'agreementReference',
  'agreementStart',
  'agreementEnd',
  'objectionsApplied',
  'objectionsNote',
  'filesDestroyedAt',
  'bidId',
  'releaseId',
  // Before files (#25): every column before it keeps its place, and files stays the last.
  'differencingGuard',
  'independentlyVerified',
  // Last, so the columns before it keep their places: each file as name:bytes:sha256, joined by ';'.
  'files',
];

/** A line's value in the CSV: its files as `name:bytes:sha256` joined by `;`, others as they are. */
const csvValue = (l: RegisterLineDto, c: keyof RegisterLineDto): unknown =>
  c === 'files' ? (l.files ?? []).map((f) => `${f.name}:${f.bytes}:${f.sha256}`) : l[c];

/** RFC 4180 quoting of text no spreadsheet runs as a formula (`spreadsheetText`: a cell's start and each piece after a `;`). */
export function csvCell(value: unknown): string {
  const s = spreadsheetText(
    value === null || value === undefined ? '' : Array.isArray(value) ? value.join(';') : String(value),
  );
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(lines: RegisterLineDto[]): string {
  const out = [REGISTER_CSV_COLUMNS.join(',')];
  for (const l of lines) out.push(REGISTER_CSV_COLUMNS.map((c) => csvCell(csvValue(l, c))).join(','));
  return `${out.join('\r\n')}\r\n`;
}
