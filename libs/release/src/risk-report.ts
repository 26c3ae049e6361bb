import { DATASET_FILE, type Dataset, IDENTIFIER_COLUMNS, type Tier, tierColumns } from '@custodian/catalog';
import { PRIMARY_MAX, roundToBase, shownSmall } from './disclosure-control';
import { DATASET_SQL, datasetColumns, dateFilter, FILE_BIT, type EventRange } from './release-sql';
import type { ReleaseSpec } from './release.types';
import { RiskTally, type RiskColumns } from './risk-tally';

/**
 * The risk and linkage report of a release (#24), computed once the independent verifier has
 * passed its files, and stored with the release (`releases.risk_report`, exact figures).
 *
 * Risk (record-level tiers), per released file, **as released**: tallied from the file's bytes
 * while the shards write them (risk-tally.ts: the CSV on its way to gzip), each shard's partial
 * left in the working set's risk table, and added up here with set-based SQL — the persons (by the
 * tier's person column; a file without one counts a row as a person), the classes of persons
 * sharing the person-level quasi-identifiers the file carries (date of birth / birth year-month /
 * age band, sex, postcode / district / area, ethnicity), the share of persons alone in their class,
 * the smallest class and the prosecutor re-identification risk (1 / smallest class). (Until issue
 * #22 every file was gunzipped and COPYed back into PostgreSQL on one process after the release was
 * built: 190–211 s of a 1M-patient release; the same figures, `test/release-risk-tally`.)
 *
 * Linkage (HES and social-care datasets, every tier): the rows behind the dataset's file — the
 * source rows of the release's included persons in the cohort's event range, under the release's
 * own data snapshot — counted by the linkage step that linked them (1–8) or unlinked (matched by
 * NHS number only). GP rows come from the patient's own record and are not linked. Counted by the
 * preparation in the same pass as the rows left out (`rowReasonsBySteps`), not by a pass of its own.
 */
export interface FileRisk {
  file: string;
  dataset: Dataset;
  personColumn: string | null;
  quasiIdentifiers: string[];
  persons: number;
  uniquePersons: number;
  /** Percentage of persons unique on the quasi-identifiers (two decimals). */
  uniqueShare: number;
  smallestClass: number;
  /** 1 / smallest class (0 for an empty file). */
  prosecutorRisk: number;
  /** Persons suppressed from this file by k-anonymity (anonymised tier; 0 otherwise). */
  suppressed: number;
}

export interface LinkageReport {
  dataset: Exclude<Dataset, 'gp'>;
  rows: number;
  /** Rows linked at each step, '1'..'8'. */
  byStep: Record<string, number>;
  unlinked: number;
}

export interface RiskReport {
  version: 1;
  tier: Tier;
  computedAt: string;
  files: FileRisk[];
  /** Persons suppressed by k-anonymity over the release (anonymised tier; 0 otherwise). */
  suppressed: number;
  linkage: LinkageReport[];
}

export const LINKAGE_STEPS = ['1', '2', '3', '4', '5', '6', '7', '8'] as const;

type RecordTier = Exclude<Tier, 'aggregate'>;
const RECORD_TIERS: RecordTier[] = ['identifiable', 'pseudonymised', 'anonymised'];

/** The person-level quasi-identifier columns of each record-level tier's files, as released (the catalogue names them). */
export const RISK_QUASI_IDENTIFIERS = Object.fromEntries(
  RECORD_TIERS.map((t) => [t, tierColumns(t, ['date_of_birth', 'sex', 'postcode', 'ethnicity'])]),
) as Record<RecordTier, string[]>;

export const RISK_PERSON_COLUMN = Object.fromEntries(
  RECORD_TIERS.map((t) => [t, IDENTIFIER_COLUMNS[t].nhs_number]),
) as Record<RecordTier, string>;

/** The columns of a dataset's file the risk report reads: its person column and quasi-identifiers. */
export function riskColumns(tier: RecordTier, dataset: Dataset, fields: string[]): RiskColumns {
  const header = datasetColumns(dataset, fields, tier).columns.map((c) => c.name);
  return {
    header,
    personColumn: header.includes(RISK_PERSON_COLUMN[tier]) ? RISK_PERSON_COLUMN[tier] : null,
    quasiIdentifiers: RISK_QUASI_IDENTIFIERS[tier].filter((q) => header.includes(q)),
  };
}

/** A query on a pooled connection (the engine's DataSource). */
export type RiskQuery = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * The working set's risk table, made by the preparation of a record-level release: one row per
 * class and shard claim (`qi` the class's CSV tokens, `n` its persons), and per claim and file one
 * row with `qi` NULL and `n` the persons of the claim's part of the file. Unlogged and dropped with
 * the working set: quasi-identifier values without identifiers, never kept.
 */
export const riskTable = (table: string) =>
  `CREATE UNLOGGED TABLE ${table} (build int NOT NULL, shard int NOT NULL, claim int NOT NULL,
     dataset text NOT NULL, qi text, n bigint NOT NULL)`;

/** One claim of one shard: whose partials count (a stalled or older claim's do not). */
export interface RiskPart {
  build: number;
  shard: number;
  claim: number;
}

/**
 * The tally of one shard's part of a dataset's file, fed with its CSV chunks (`tap`), its classes
 * flushed into the risk table as they pile up and at `finish` (given the rows COPY reported, which
 * the tally must have read).
 */
export function shardRiskTally(
  query: RiskQuery,
  table: string,
  part: RiskPart,
  dataset: Dataset,
  columns: RiskColumns,
): { tap: (chunk: Buffer) => void | Promise<void>; finish: (rows: number) => Promise<void> } {
  const tally = new RiskTally(columns);
  const flush = async () => {
    const classes = tally.take();
    if (!classes.size) return;
    await query(
      `INSERT INTO ${table} (build, shard, claim, dataset, qi, n)
       SELECT $1, $2, $3, $4, c.qi, c.n FROM unnest($5::text[], $6::bigint[]) c(qi, n)`,
      [part.build, part.shard, part.claim, dataset, [...classes.keys()], [...classes.values()]],
    );
  };
  return {
    tap: (chunk) => {
      tally.update(chunk);
      if (tally.full) return flush();
    },
    finish: async (rows) => {
      tally.end();
      // Every row COPY sent was read as one: else the figures would not describe the file.
      if (tally.rows !== rows) throw new Error('risk tally: rows read differ from the rows written');
      await flush();
      await query(
        `INSERT INTO ${table} (build, shard, claim, dataset, qi, n) VALUES ($1, $2, $3, $4, NULL, $5)`,
        [part.build, part.shard, part.claim, dataset, tally.persons],
      );
    },
  };
}

export interface RiskInput {
  tier: Tier;
  spec: ReleaseSpec;
  files: { name: string }[];
  /** The working set's risk table and the shard claims whose partials make the files. */
  risk?: { table: string; parts: RiskPart[] };
  /** Counted by the preparation (`linkageOf`). */
  linkage: LinkageReport[];
  suppressed?: number;
  suppressedByFile?: Record<string, number>;
}

export async function computeRiskReport(query: RiskQuery, input: RiskInput): Promise<RiskReport> {
  const files: FileRisk[] = [];
  if (input.tier !== 'aggregate') {
    const tier = input.tier;
    const sums = input.risk ? await riskSums(query, input.risk) : new Map<string, RiskSums>();
    for (const d of input.spec.datasets) {
      const name = DATASET_FILE[d.dataset];
      if (!input.files.some((f) => f.name === name)) continue;
      const { personColumn, quasiIdentifiers } = riskColumns(tier, d.dataset, d.fields);
      const r = sums.get(d.dataset) ?? { persons: 0, uniquePersons: 0, smallest: 0 };
      files.push({
        file: name,
        dataset: d.dataset,
        personColumn,
        quasiIdentifiers,
        persons: r.persons,
        uniquePersons: r.uniquePersons,
        uniqueShare: r.persons ? Math.round((r.uniquePersons / r.persons) * 10000) / 100 : 0,
        smallestClass: r.smallest,
        prosecutorRisk: r.smallest ? Math.round((1 / r.smallest) * 10000) / 10000 : 0,
        suppressed: input.suppressedByFile?.[d.dataset] ?? 0,
      });
    }
  }
  return {
    version: 1,
    tier: input.tier,
    computedAt: new Date().toISOString(),
    files,
    suppressed: input.suppressed ?? 0,
    linkage: input.linkage,
  };
}

interface RiskSums {
  persons: number;
  uniquePersons: number;
  smallest: number;
}

/** The shards' partials added up per file: persons, classes of one, the smallest class. */
async function riskSums(query: RiskQuery, risk: { table: string; parts: RiskPart[] }) {
  const rows = await query(
    `WITH t AS (
       SELECT r.dataset, r.qi, r.n FROM ${risk.table} r
         JOIN unnest($1::int[], $2::int[], $3::int[]) p(build, shard, claim)
           ON p.build = r.build AND p.shard = r.shard AND p.claim = r.claim),
     c AS (SELECT dataset, qi, sum(n) AS n FROM t WHERE qi IS NOT NULL GROUP BY dataset, qi)
     SELECT d.dataset,
            (SELECT coalesce(sum(n), 0) FROM t WHERE t.dataset = d.dataset AND t.qi IS NULL)::bigint AS persons,
            (SELECT count(*) FROM c WHERE c.dataset = d.dataset AND c.n = 1)::bigint AS unique_persons,
            (SELECT coalesce(min(n), 0) FROM c WHERE c.dataset = d.dataset)::bigint AS smallest
       FROM (SELECT DISTINCT dataset FROM t) d`,
    [risk.parts.map((p) => p.build), risk.parts.map((p) => p.shard), risk.parts.map((p) => p.claim)],
  );
  return new Map(
    rows.map((r) => [
      r.dataset as string,
      { persons: Number(r.persons), uniquePersons: Number(r.unique_persons), smallest: Number(r.smallest) },
    ]),
  );
}

/**
 * HES or social-care rows in the cohort by why they are left out (NULL: included), and by the
 * linkage step that linked them (NULL: unlinked); in the anonymised tier also whether k-anonymity
 * left the person in the file. One pass for the counts of rows left out and the linkage report.
 *
 * The rows of `DatasetSql.from` (a row belongs to its linked patient's person, else to the person
 * of its own NHS number), with the person's columns taken from the join that attributes the row
 * rather than from a third join of the working set back on the person (`from` joins `rp` again on
 * `person_nhs`, the same row: `rp.nhs` is unique), and only the columns counted: at 300k persons
 * 1.5 s against 2.9 s (`EXPLAIN ANALYZE`, docs/BENCHMARKS.md).
 */
export function rowReasonsBySteps(dataset: Exclude<Dataset, 'gp'>, range: EventRange, tier: Tier): string {
  const d = DATASET_SQL[dataset];
  const date = d.date.replace(/^x\./, '');
  if (!/^[a-z_]+$/.test(date)) throw new Error('unexpected date column');
  const cols = `r.excl, r.files, s.nhs_number, s.linkage_step, s.${date}`;
  return `SELECT CASE WHEN x.excl IS NOT NULL THEN x.excl WHEN ${d.blockedOwn} THEN 'row_nhs_number_objection' END AS reason,
                 x.linkage_step::text AS step,
                 ${tier === 'anonymised' ? `x.files & ${FILE_BIT[dataset]} <> 0` : 'true'} AS in_file,
                 count(*)::bigint AS n
            FROM (SELECT ${cols} FROM ${d.table} s JOIN rp r ON r.patient_id = s.patient_id
                  UNION ALL
                  SELECT ${cols} FROM ${d.table} s JOIN rp r ON r.nhs = s.nhs_number WHERE s.patient_id IS NULL) x
           WHERE ${dateFilter(d.date, range)} GROUP BY 1, 2, 3`;
}

/** The linkage report of a dataset from `rowReasonsBySteps`'s rows: its included rows in the file, by step. */
export function linkageOf(
  dataset: Exclude<Dataset, 'gp'>,
  rows: { reason: string | null; step: string | null; in_file: boolean; n: string }[],
): LinkageReport {
  const byStep: Record<string, number> = Object.fromEntries(LINKAGE_STEPS.map((s) => [s, 0]));
  let unlinked = 0;
  let total = 0;
  for (const r of rows) {
    if (r.reason !== null || !r.in_file) continue;
    const n = Number(r.n);
    total += n;
    if (r.step === null) unlinked += n;
    else byStep[r.step] = (byStep[r.step] ?? 0) + n;
  }
  return { dataset, rows: total, byStep, unlinked };
}

/** A count of persons or rows as the public and the applicant see it: `*` for 1–7, else rounded to 5. */
type Shown = number | '*';

/** A percentage the public sees: a whole number, or `*` when the count behind it is 1–7. */
function shownShare(count: number, of: number): Shown {
  if (count <= PRIMARY_MAX) return '*';
  // Of the counts as shown (rounded to 5), so that a share tells no more than they do: of the exact
  // counts, 9 of 28 (32%) gave back what "10 of 30" hides.
  const whole = roundToBase(of);
  return whole ? Math.round((roundToBase(count) / whole) * 100) : 0;
}

export interface PublicFileRisk {
  file: string;
  dataset: Dataset;
  quasiIdentifiers: string[];
  persons: Shown;
  uniquePersons: Shown;
  uniqueShare: Shown;
  smallestClass: Shown;
  /** Percentage, whole; `*` when the smallest class is 1–7 (its inverse would give the class size). */
  prosecutorRisk: Shown;
  suppressed: Shown;
}

export interface PublicLinkageReport {
  dataset: string;
  rows: Shown;
  /** Whole percentages of the rows per step, and unlinked; `*` where the count is 1–7. */
  byStep: Record<string, Shown>;
  unlinked: Shown;
}

export interface PublicRiskReport {
  version: 1;
  tier: Tier;
  computedAt: string;
  files: PublicFileRisk[];
  suppressed: Shown;
  linkage: PublicLinkageReport[];
  rule: string;
}

export const PUBLIC_RULE = `counts 0-${PRIMARY_MAX} shown as *, others rounded to the nearest 5; percentages whole, * where the count behind them is 0-${PRIMARY_MAX}; no linkage figures for an aggregate table`;

/** A count as the public report shows it: 0 to 7 alike (`shownSmall`; probe 27). */
const shownPublic = shownSmall;

/** The report with the small-number rule applied (SPEC §5 step 5), for the applicant and the public. */
function publicRisk(smallestClass: number): Shown {
  const shown = shownPublic(smallestClass);
  return shown === '*' ? '*' : shown ? Math.round(100 / shown) : 0;
}

export function publicRiskReport(r: RiskReport): PublicRiskReport {
  return {
    version: 1,
    tier: r.tier,
    computedAt: r.computedAt,
    files: r.files.map((f) => ({
      file: f.file,
      dataset: f.dataset,
      quasiIdentifiers: f.quasiIdentifiers,
      persons: shownPublic(f.persons),
      uniquePersons: shownPublic(f.uniquePersons),
      uniqueShare: shownShare(f.uniquePersons, f.persons),
      smallestClass: shownPublic(f.smallestClass),
      // 1 / the smallest class as shown (a percentage): of the exact class it gave the class back
      // (8% is a class of 12 or 13, where the class is shown as 15).
      prosecutorRisk: publicRisk(f.smallestClass),
      suppressed: shownPublic(f.suppressed),
    })),
    suppressed: shownPublic(r.suppressed),
    // An aggregate table's rows are counted under the minimum population and the differencing guard;
    // its linkage figures (rows per step, of persons outside the table's rules too) are not shown.
    linkage: (r.tier === 'aggregate' ? [] : r.linkage).map((l) => ({
      dataset: l.dataset,
      rows: shownPublic(l.rows),
      byStep: Object.fromEntries(Object.entries(l.byStep).map(([s, n]) => [s, shownShare(n, l.rows)])),
      unlinked: shownShare(l.unlinked, l.rows),
    })),
    rule: PUBLIC_RULE,
  };
}
