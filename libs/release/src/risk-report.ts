import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { DATASET_FILE, type Dataset, IDENTIFIER_COLUMNS, type Tier, tierColumns } from '@custodian/catalog';
import { PRIMARY_MAX, shownCount } from './disclosure-control';
import { DATASET_SQL, dateFilter, FILE_BIT, type EventRange } from './release-sql';
import type { ReleaseFileInfo, ReleaseSpec } from './release.types';

/**
 * The risk and linkage report of a release (#24), computed once the independent verifier has
 * passed its files, and stored with the release (`releases.risk_report`, exact figures).
 *
 * Risk (record-level tiers), per released file, **as released**: the file is read back (gunzip,
 * streamed) into a temporary table by COPY, and counted with set-based SQL — the persons (by the
 * tier's person column; a file without one counts a row as a person), the classes of persons
 * sharing the person-level quasi-identifiers the file carries (date of birth / birth year-month /
 * age band, sex, postcode / district / area, ethnicity), the share of persons alone in their class,
 * the smallest class and the prosecutor re-identification risk (1 / smallest class).
 *
 * Linkage (HES and social-care datasets, every tier): the rows behind the dataset's file — the
 * source rows of the release's included persons in the cohort's event range, under the release's
 * own data snapshot — counted by the linkage step that linked them (1–8) or unlinked (matched by
 * NHS number only). GP rows come from the patient's own record and are not linked.
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

/** Catalogue column names only ever: anything else in a header is refused (it is written into SQL). */
const COLUMN_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export interface RiskInput {
  tier: Tier;
  spec: ReleaseSpec;
  dir: string;
  /** Name suffix of the files on disk (`.partial` before they are published). */
  suffix: string;
  files: ReleaseFileInfo[];
  /** The release's data snapshot (exported by the coordinator, still open) and working tables. */
  snapshot: string;
  work: { rp: string; blocked: string };
  suppressed?: number;
  suppressedByFile?: Record<string, number>;
}

/** Runs `fn` with a pooled pg client (the engine's), released afterwards. */
export type WithClient = <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;

export async function computeRiskReport(withClient: WithClient, input: RiskInput): Promise<RiskReport> {
  const files: FileRisk[] = [];
  if (input.tier !== 'aggregate')
    for (const d of input.spec.datasets) {
      const name = DATASET_FILE[d.dataset];
      if (!input.files.some((f) => f.name === name)) continue;
      files.push(
        await withClient((c) =>
          fileRisk(
            c,
            input.tier as Exclude<Tier, 'aggregate'>,
            d.dataset,
            name,
            path.join(input.dir, `${name}${input.suffix}`),
            input.suppressedByFile?.[d.dataset] ?? 0,
          ),
        ),
      );
    }
  const linked = input.spec.datasets.filter((d) => d.dataset !== 'gp');
  const linkage = linked.length ? await withClient((c) => linkageCounts(c, withClient, input)) : [];
  return {
    version: 1,
    tier: input.tier,
    computedAt: new Date().toISOString(),
    files,
    suppressed: input.suppressed ?? 0,
    linkage,
  };
}

async function fileRisk(
  client: PoolClient,
  tier: Exclude<Tier, 'aggregate'>,
  dataset: Dataset,
  name: string,
  file: string,
  suppressed: number,
): Promise<FileRisk> {
  const header = await readHeader(file);
  if (!header.every((h) => COLUMN_NAME.test(h))) throw new Error(`${name}: unexpected header`);
  const personColumn = header.includes(RISK_PERSON_COLUMN[tier]) ? RISK_PERSON_COLUMN[tier] : null;
  const qis = RISK_QUASI_IDENTIFIERS[tier].filter((q) => header.includes(q));
  await client.query('BEGIN');
  try {
    await client.query(
      `CREATE TEMP TABLE rel_risk (${header.map((h) => `${h} text`).join(', ')}) ON COMMIT DROP`,
    );
    await pipeline(
      createReadStream(file),
      createGunzip(),
      client.query(copyFrom(`COPY rel_risk FROM STDIN WITH (FORMAT csv, HEADER true)`)),
    );
    const person = personColumn ?? 'ctid::text';
    const qi = qis.length ? `ROW(${qis.join(', ')})::text` : `''`;
    const {
      rows: [r],
    } = await client.query(
      `WITH p AS (SELECT DISTINCT ${person} AS person, ${qi} AS qi FROM rel_risk),
            c AS (SELECT qi, count(*)::bigint AS n FROM p GROUP BY qi)
       SELECT (SELECT count(DISTINCT person) FROM p)::int AS persons,
              (SELECT coalesce(sum(n) FILTER (WHERE n = 1), 0) FROM c)::int AS unique_persons,
              (SELECT coalesce(min(n), 0) FROM c)::int AS smallest`,
    );
    await client.query('COMMIT');
    const persons = r.persons as number;
    const smallest = r.smallest as number;
    return {
      file: name,
      dataset,
      personColumn,
      quasiIdentifiers: qis,
      persons,
      uniquePersons: r.unique_persons,
      uniqueShare: persons ? Math.round((r.unique_persons / persons) * 10000) / 100 : 0,
      smallestClass: smallest,
      prosecutorRisk: smallest ? Math.round((1 / smallest) * 10000) / 10000 : 0,
      suppressed,
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function readHeader(file: string): Promise<string[]> {
  let text = '';
  const gunzip = createReadStream(file).pipe(createGunzip());
  for await (const chunk of gunzip) {
    text += (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  gunzip.destroy();
  return text.split('\n')[0].replace(/\r$/, '').split(',');
}

/**
 * Rows per linkage step of the HES / social-care datasets, read on the release's data snapshot
 * with the included persons piped from the committed working table (as the shards read them).
 */
async function linkageCounts(
  client: PoolClient,
  withClient: WithClient,
  input: RiskInput,
): Promise<LinkageReport[]> {
  if (!/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(input.snapshot)) throw new Error('bad snapshot id');
  const range: EventRange = { from: input.spec.cohort.eventsFrom, to: input.spec.cohort.eventsTo };
  const out: LinkageReport[] = [];
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    await client.query(`SET TRANSACTION SNAPSHOT '${input.snapshot}'`);
    await client.query(`CREATE TEMP TABLE rp ON COMMIT DROP AS TABLE ${input.work.rp} WITH NO DATA`);
    await client.query(
      `CREATE TEMP TABLE rel_blocked ON COMMIT DROP AS TABLE ${input.work.blocked} WITH NO DATA`,
    );
    await withClient(async (source) => {
      for (const [table, select] of [
        ['rp', `SELECT * FROM ${input.work.rp} WHERE excl IS NULL`],
        ['rel_blocked', `SELECT * FROM ${input.work.blocked}`],
      ])
        await pipeline(
          source.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT binary)`)),
          client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT binary)`)),
        );
    });
    await client.query('ANALYZE rp');
    for (const d of input.spec.datasets) {
      if (d.dataset === 'gp') continue;
      const sql = DATASET_SQL[d.dataset];
      const { rows } = await client.query(
        `SELECT x.linkage_step::text AS step, count(*)::bigint AS n FROM ${sql.from}
          WHERE ${dateFilter(sql.date, range)} AND NOT ${sql.blockedOwn}${
            input.tier === 'anonymised' ? ` AND rp.files & ${FILE_BIT[d.dataset]} <> 0` : ''
          }
          GROUP BY 1`,
      );
      const byStep = Object.fromEntries(LINKAGE_STEPS.map((s) => [s, 0]));
      let unlinked = 0;
      let total = 0;
      for (const r of rows as { step: string | null; n: string }[]) {
        const n = Number(r.n);
        total += n;
        if (r.step === null) unlinked += n;
        else byStep[r.step] = n;
      }
      out.push({ dataset: d.dataset, rows: total, byStep, unlinked });
    }
    await client.query('ROLLBACK');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** A count of persons or rows as the public and the applicant see it: `*` for 1–7, else rounded to 5. */
type Shown = number | '*';

/** A percentage the public sees: a whole number, or `*` when the count behind it is 1–7. */
function shownShare(count: number, of: number): Shown {
  if (count >= 1 && count <= PRIMARY_MAX) return '*';
  return of ? Math.round((count / of) * 100) : 0;
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

export const PUBLIC_RULE = `counts 1-${PRIMARY_MAX} shown as *, others rounded to the nearest 5; percentages whole, * where the count behind them is 1-${PRIMARY_MAX}`;

/** The report with the small-number rule applied (SPEC §5 step 5), for the applicant and the public. */
export function publicRiskReport(r: RiskReport): PublicRiskReport {
  return {
    version: 1,
    tier: r.tier,
    computedAt: r.computedAt,
    files: r.files.map((f) => ({
      file: f.file,
      dataset: f.dataset,
      quasiIdentifiers: f.quasiIdentifiers,
      persons: shownCount(f.persons),
      uniquePersons: shownCount(f.uniquePersons),
      uniqueShare: shownShare(f.uniquePersons, f.persons),
      smallestClass: shownCount(f.smallestClass),
      prosecutorRisk:
        f.smallestClass >= 1 && f.smallestClass <= PRIMARY_MAX
          ? '*'
          : f.smallestClass
            ? Math.round(100 / f.smallestClass)
            : 0,
      suppressed: shownCount(f.suppressed),
    })),
    suppressed: shownCount(r.suppressed),
    linkage: r.linkage.map((l) => ({
      dataset: l.dataset,
      rows: shownCount(l.rows),
      byStep: Object.fromEntries(Object.entries(l.byStep).map(([s, n]) => [s, shownShare(n, l.rows)])),
      unlinked: shownShare(l.unlinked, l.rows),
    })),
    rule: PUBLIC_RULE,
  };
}
