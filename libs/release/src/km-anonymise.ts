import { DATE_FIELDS, Dataset } from '@custodian/catalog';
import { PRIMARY_MAX, ROUND_TO, shownCount, shownCountText } from './disclosure-control';
import { RELEASE_FAILURES } from './release.errors';
import { AGE_LEVELS, AREA_LEVELS, ETHNICITY_LEVELS, LatticeNode } from './k-anonymity';
import { CODE_LEVELS, KM_NODES, MAX_M, PERIOD_LEVELS } from './km-anonymity';
import { KM_ITEM_FIELDS, kmItemFields, kmItemSql } from './km-anonymity.sql';
import { LOCATION_QI_FIELD, pairKept } from './location-qi';
import {
  ageKey,
  areaAt,
  DATASET_SQL,
  dateFilter,
  EventRange,
  ethAt,
  FILE_BIT,
  isPerEvent,
  levelSql,
  QuasiIdentifiers,
} from './release-sql';

type Query = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

export interface KmInput {
  /** The committed working set (`rp` is a temp view of it): gains `kmc`, `kmp` and `kmgone`. */
  workRp: string;
  /** Prefix of this stage's scratch tables (unlogged, in `release_work`, dropped at the end). */
  scratch: string;
  datasets: { dataset: Dataset; fields: string[] }[];
  qi: QuasiIdentifiers;
  /** The demographic (and location) levels k-anonymity chose: the class an attacker knows. */
  kLevels: LatticeNode;
  range: EventRange;
  k: number;
  m: number;
  maxShare: number;
  /** Throws the release's failure (recipients' message, staff's exact one). */
  fail: (code: string, message: string, exact: string) => never;
}

export interface KmResult {
  k: number;
  m: number;
  /** Demographic classes per node chosen (`code/period`), and rows kept at each. */
  classesByNode: Record<string, number>;
  rowsByNode: Record<string, number>;
  /** Exact figures (staff): event rows per file, removed with their item, released generalised. */
  rowsByFile: Record<string, number>;
  suppressedByFile: Record<string, number>;
  generalisedByFile: Record<string, number>;
  /** Rows kept whose dates (item periods) are released as year-month, year, or `*`. */
  periodRows: Record<string, number>;
  /** Lattice passes run (one per node tried by some class). */
  passes: number;
}

/** A file whose removed rows would exceed the cap (the worst one). */
export interface KmMiss {
  miss: { file: string; removed: number; rows: number; share: number };
  k: number;
  m: number;
}

const nodeName = (i: number) => `${CODE_LEVELS[KM_NODES[i].code]}/${PERIOD_LEVELS[KM_NODES[i].period]}`;

/**
 * The kᵐ-anonymity stage of an anonymised release (km-anonymity.ts has the definition), run in the
 * preparation's transaction after k-anonymity (and its location suppression), on the working set:
 *
 * 1. each included person of a file of a row per event gets their demographic class at the levels
 *    k-anonymity chose (`_cls`);
 * 2. the person's distinct base tuples — the item columns, dates to the month — of the rows the
 *    files will carry (date range, blocked rows and suppressed person-location pairs left out),
 *    with row counts, numbered through a small dictionary (`_t_<dataset>`); every node's item of
 *    every tuple (`_map`, one table for the whole lattice);
 * 3. **each class chooses its own node** (local recoding): the classes still open try the next
 *    node of `KM_NODES` together — supports (persons) and rows per class and item (`_sup`), items of
 *    fewer than k persons gone (m = 1); for the classes whose m = 1 removals are within the cap,
 *    sets of 2…m among each person's items still live, a set of fewer than k persons losing its
 *    least supported item for the class — and a class whose removals, per file, stay within
 *    `maxShare` of its rows of that file keeps the node. The last node (every code and period `*`)
 *    takes the classes left. A big class keeps dates to the month where a small one needs years;
 * 4. the person's code and period levels (`kmc`, `kmp`) and the items gone for their class
 *    (`kmgone`, as the shards compute the row's item) are written on the working set; the files'
 *    SELECTs generalise each row at its person's levels and leave those rows out;
 * 5. a file whose removed rows exceed `maxShare` of its rows fails the release.
 *
 * Removing an item for a whole class never lowers the support of a set without it, so one pass
 * per set size leaves every set of ≤ m items carried by ≥ k persons of the class (Terrovitis et
 * al., 2008, with global recoding per class).
 */
export async function kmAnonymise(q: Query, input: KmInput): Promise<KmResult | KmMiss | undefined> {
  const { k, maxShare } = input;
  const m = Math.min(Math.max(1, input.m), MAX_M);
  const files = input.datasets.filter((d) => isPerEvent(d.dataset, d.fields));
  if (!files.length) return undefined;
  const T = input.scratch;
  await q(`ALTER TABLE ${input.workRp} ADD COLUMN IF NOT EXISTS kmc smallint,
             ADD COLUMN IF NOT EXISTS kmp smallint, ADD COLUMN IF NOT EXISTS kmgone text[]`);
  // The temp view was made before the columns (k-anonymity's `ksup` among them) were added.
  await q(`CREATE OR REPLACE TEMP VIEW rp AS SELECT * FROM ${input.workRp}`);

  // 1. Classes: the released quasi-identifiers at the chosen levels (constants where not released).
  const l = levelSql(input.kLevels);
  const qi = input.qi;
  const cls = [
    qi.age ? `(${ageKey(l.age, 'rp.a5')})::text` : `'-'`,
    qi.sex ? `coalesce(rp.sex, 'U')` : `'-'`,
    qi.area ? areaAt(l.area, 'rp.district') : `'-'`,
    qi.ethnicity ? ethAt(l.ethnicity, 'rp.eth') : `'-'`,
  ].join(` || '|' || `);
  const bits = files.reduce((b, d) => b | FILE_BIT[d.dataset], 0);
  await q(`CREATE UNLOGGED TABLE ${T}_cls AS
    SELECT c.nhs, n.cls FROM (SELECT rp.nhs, (${cls}) COLLATE "C" AS ct FROM rp
                               WHERE rp.excl IS NULL AND rp.files & ${bits} <> 0) c
      JOIN (SELECT ct, (row_number() OVER (ORDER BY ct))::int AS cls FROM (
              SELECT DISTINCT (${cls}) COLLATE "C" AS ct FROM rp WHERE rp.excl IS NULL AND rp.files & ${bits} <> 0) d) n
        ON n.ct = c.ct`);
  await q(`ANALYZE ${T}_cls`);

  // 2. Base tuples per person and file, one scan of each file's rows.
  const locLevel = (d: Dataset) => input.kLevels.location?.[d];
  const parts: string[] = [];
  for (const [fi, { dataset: d, fields }] of files.entries()) {
    const s = DATASET_SQL[d];
    const columns = [...new Set(kmItemFields(d, fields).flatMap((f) => KM_ITEM_FIELDS[d][f].columns))];
    const select = columns.map((c) =>
      DATE_FIELDS.has(c) ? `date_trunc('month', x.${c})::date AS ${c}` : `x.${c}`,
    );
    const locField = LOCATION_QI_FIELD[d];
    const kept =
      locField && fields.includes(locField) ? pairKept(d, s.event[locField].expr, locLevel(d) ?? 2) : 'true';
    // Text columns sorted in "C" order (byte order: several times faster than the locale's).
    const tuple = columns.length
      ? columns.map((c) => (DATE_FIELDS.has(c) ? c : `${c} COLLATE "C"`)).join(', ')
      : '1';
    await q(`CREATE UNLOGGED TABLE ${T}_b${fi} AS
      SELECT r.*, (dense_rank() OVER (ORDER BY ${tuple}))::int AS t FROM (
        SELECT c.nhs, c.cls, ${[...select, 'count(*)::bigint AS n'].join(', ')}
          FROM ${s.from} JOIN ${T}_cls c ON c.nhs = rp.nhs
         WHERE ${dateFilter(s.date, input.range)} AND NOT ${s.blockedOwn} AND rp.files & ${FILE_BIT[d]} <> 0
           AND ${kept}
         GROUP BY ${[1, 2, ...columns.map((_, i) => i + 3)].join(', ')}) r`);
    await q(`CREATE UNLOGGED TABLE ${T}_t${fi} AS
      SELECT DISTINCT t${columns.length ? `, ${columns.join(', ')}` : ''} FROM ${T}_b${fi}`);
    parts.push(`SELECT nhs, cls, ${fi}::smallint AS ds, t, n FROM ${T}_b${fi}`);
  }
  await q(`CREATE UNLOGGED TABLE ${T}_base AS ${parts.join(' UNION ALL ')}`);
  await q(`DROP TABLE ${files.map((_, fi) => `${T}_b${fi}`).join(', ')}`);
  await q(`ANALYZE ${T}_base`);
  // Every node's item of every tuple: text as the shards compute it, numbered.
  await q(`CREATE UNLOGGED TABLE ${T}_map AS
    SELECT node, ds, t, text, (dense_rank() OVER (ORDER BY text))::int AS item FROM (${KM_NODES.flatMap(
      (node, ni) =>
        files.map(
          ({ dataset: d, fields }, fi) =>
            `SELECT ${ni}::smallint AS node, ${fi}::smallint AS ds, x.t, ${kmItemSql(d, fields, {
              ...node,
              location: locLevel(d),
            })} AS text FROM ${T}_t${fi} x`,
        ),
    ).join(' UNION ALL ')}) m`);
  await q(`CREATE INDEX ON ${T}_map (node, ds, t)`);
  // Rows per class and file: each class's budget.
  await q(`CREATE UNLOGGED TABLE ${T}_rows AS
    SELECT cls, ds, sum(n)::bigint AS n FROM ${T}_base GROUP BY 1, 2`);
  await q(`CREATE UNLOGGED TABLE ${T}_open AS SELECT DISTINCT cls FROM ${T}_rows`);
  await q(`CREATE UNLOGGED TABLE ${T}_choice (cls int PRIMARY KEY, node smallint NOT NULL)`);
  await q(`CREATE UNLOGGED TABLE ${T}_gone (cls int NOT NULL, item int NOT NULL)`);

  // 3. Up the lattice, the open classes together.
  const last = KM_NODES.length - 1;
  let passes = 0;
  // A class is within budget when no file loses more than its share of the class's rows of it.
  const settled = `SELECT r.cls FROM ${T}_rows r LEFT JOIN (
        SELECT s.cls, s.ds, sum(s.n) AS n FROM ${T}_sup s JOIN ${T}_g g ON g.cls = s.cls AND g.item = s.item
         GROUP BY 1, 2) x ON x.cls = r.cls AND x.ds = r.ds
      WHERE r.cls IN (SELECT cls FROM ${T}_open)
      GROUP BY r.cls HAVING bool_and(coalesce(x.n, 0) <= floor(r.n * $1::float8))`;
  for (let node = 0; node <= last; node++) {
    const [{ open }] = await q<{ open: string }>(`SELECT count(*)::bigint AS open FROM ${T}_open`);
    if (Number(open) === 0) break;
    passes++;
    await q(`DROP TABLE IF EXISTS ${T}_sup, ${T}_g, ${T}_ok`);
    // Supports (persons) and rows per class and item at the node, in one aggregate over the
    // persons' items (not materialised: only the classes that reach the sets need them).
    await q(`CREATE UNLOGGED TABLE ${T}_sup AS
      SELECT cls, ds, item, count(*)::int AS persons, sum(n)::bigint AS n FROM (
        SELECT b.nhs, b.cls, b.ds, m.item, sum(b.n) AS n FROM ${T}_base b
          JOIN ${T}_map m ON m.node = ${node} AND m.ds = b.ds AND m.t = b.t
         WHERE b.cls IN (SELECT cls FROM ${T}_open)
         GROUP BY 1, 2, 3, 4) i
       GROUP BY 1, 2, 3`);
    await q(`CREATE UNLOGGED TABLE ${T}_g AS SELECT cls, item FROM ${T}_sup WHERE persons < $1`, [k]);
    if (m > 1) {
      // Sets only where m = 1 left the class within budget (else the node is lost anyway; the
      // last node takes every class left).
      await q(
        `CREATE UNLOGGED TABLE ${T}_ok AS ${node < last ? settled : `SELECT cls FROM ${T}_open`}`,
        node < last ? [maxShare] : [],
      );
      await q(`DROP TABLE IF EXISTS ${T}_live`);
      await q(`CREATE UNLOGGED TABLE ${T}_live AS
        SELECT DISTINCT b.nhs, b.cls, m.item FROM ${T}_base b
          JOIN ${T}_map m ON m.node = ${node} AND m.ds = b.ds AND m.t = b.t
         WHERE b.cls IN (SELECT cls FROM ${T}_ok)
           AND NOT EXISTS (SELECT 1 FROM ${T}_g g WHERE g.cls = b.cls AND g.item = m.item)`);
      await q(`ANALYZE ${T}_live`);
      for (let size = 2; size <= m; size++) await smallSets(q, T, size, k);
    }
    const take = node === last ? `SELECT cls FROM ${T}_open` : `SELECT cls FROM (${settled}) s`;
    await q(`CREATE TEMP TABLE rel_km_take ON COMMIT DROP AS ${take}`, node === last ? [] : [maxShare]);
    await q(`INSERT INTO ${T}_choice SELECT cls, ${node} FROM rel_km_take`);
    await q(
      `INSERT INTO ${T}_gone SELECT g.cls, g.item FROM ${T}_g g WHERE g.cls IN (SELECT cls FROM rel_km_take)`,
    );
    await q(`DELETE FROM ${T}_open WHERE cls IN (SELECT cls FROM rel_km_take)`);
    await q(`DROP TABLE rel_km_take`);
  }

  // 4. The persons' levels and the items gone for their class, as the shards compute them.
  const codeOf = `(ARRAY[${KM_NODES.map((n) => n.code).join(', ')}]::smallint[])[ch.node + 1]`;
  const periodOf = `(ARRAY[${KM_NODES.map((n) => n.period).join(', ')}]::smallint[])[ch.node + 1]`;
  await q(`CREATE UNLOGGED TABLE ${T}_fin AS
    SELECT b.nhs, b.cls, b.ds, b.n, ch.node, m.text, m.text <> m0.text AS generalised,
           (g.cls IS NOT NULL) AS gone
      FROM ${T}_base b JOIN ${T}_choice ch ON ch.cls = b.cls
      JOIN ${T}_map m ON m.node = ch.node AND m.ds = b.ds AND m.t = b.t
      JOIN ${T}_map m0 ON m0.node = 0 AND m0.ds = b.ds AND m0.t = b.t
      LEFT JOIN ${T}_gone g ON g.cls = b.cls AND g.item = m.item`);
  await q(`UPDATE ${input.workRp} w SET kmc = ${codeOf}, kmp = ${periodOf}, kmgone = f.gone
      FROM ${T}_cls c JOIN ${T}_choice ch ON ch.cls = c.cls
      LEFT JOIN (SELECT nhs, array_agg(DISTINCT text) AS gone FROM ${T}_fin WHERE gone GROUP BY nhs) f ON f.nhs = c.nhs
     WHERE w.nhs = c.nhs AND w.excl IS NULL`);

  // 5. What it cost, per file and node; the cap.
  const dsName = files.map((f) => f.dataset as string);
  const rowsByFile: Record<string, number> = Object.fromEntries(dsName.map((d) => [d, 0]));
  const suppressedByFile: Record<string, number> = {};
  const generalisedByFile: Record<string, number> = {};
  const rowsByNode: Record<string, number> = {};
  const periodRows: Record<string, number> = {};
  for (const r of await q<{ ds: number; node: number; gone: boolean; generalised: boolean; n: string }>(
    `SELECT ds, node, gone, generalised, sum(n)::bigint AS n FROM ${T}_fin GROUP BY 1, 2, 3, 4`,
  )) {
    const d = dsName[r.ds];
    const n = Number(r.n);
    rowsByFile[d] += n;
    if (r.gone) suppressedByFile[d] = (suppressedByFile[d] ?? 0) + n;
    else {
      if (r.generalised) generalisedByFile[d] = (generalisedByFile[d] ?? 0) + n;
      rowsByNode[nodeName(r.node)] = (rowsByNode[nodeName(r.node)] ?? 0) + n;
      const p = PERIOD_LEVELS[KM_NODES[r.node].period];
      periodRows[p] = (periodRows[p] ?? 0) + n;
    }
  }
  const classesByNode: Record<string, number> = {};
  for (const r of await q<{ node: number; n: string }>(
    `SELECT node, count(*)::bigint AS n FROM ${T}_choice GROUP BY node ORDER BY node`,
  ))
    classesByNode[nodeName(r.node)] = Number(r.n);
  await q(
    `DROP TABLE IF EXISTS ${T}_cls, ${T}_base, ${T}_map, ${T}_rows, ${T}_open, ${T}_choice, ${T}_gone, ${T}_sup, ${T}_g, ${T}_ok, ${T}_live, ${T}_fin, ${files
      .map((_, fi) => `${T}_t${fi}`)
      .join(', ')}`,
  );
  let worst: { file: string; removed: number; rows: number; share: number } | undefined;
  for (const [file, rows] of Object.entries(rowsByFile)) {
    const removed = suppressedByFile[file] ?? 0;
    const share = rows ? removed / rows : 0;
    if (removed > Math.floor(rows * maxShare) && (!worst || share > worst.share))
      worst = { file, removed, rows, share };
  }
  if (worst) return { miss: worst, k, m };
  return {
    k,
    m,
    classesByNode,
    rowsByNode,
    rowsByFile,
    suppressedByFile,
    generalisedByFile,
    periodRows,
    passes,
  };
}

/**
 * Sets of `size` items among the items each person of a class in `_ok` still carries (`_live`):
 * a set of fewer than k persons loses its least supported item (ties: the greater item) for the
 * whole class. Only items that survived the smaller sets take part, so the pairs stay few.
 */
async function smallSets(q: Query, T: string, size: number, k: number): Promise<void> {
  if (size > 2) await q(`DELETE FROM ${T}_live l USING ${T}_g g WHERE g.cls = l.cls AND g.item = l.item`);
  const alias = Array.from({ length: size }, (_, i) => `a${i}`);
  const joins = alias
    .slice(1)
    .map((a, i) => `JOIN ${T}_live ${a} ON ${a}.nhs = a0.nhs AND ${a}.item > ${alias[i]}.item`)
    .join(' ');
  const sups = alias
    .map((_, i) => `JOIN ${T}_sup s${i} ON s${i}.cls = v.cls AND s${i}.item = v.i${i}`)
    .join(' ');
  await q(
    `INSERT INTO ${T}_g
     SELECT DISTINCT v.cls, (SELECT w.it FROM (VALUES ${alias
       .map((_, i) => `(v.i${i}, s${i}.persons)`)
       .join(', ')}) w(it, p) ORDER BY w.p, w.it DESC LIMIT 1)
       FROM (SELECT a0.cls, ${alias.map((a, i) => `${a}.item AS i${i}`).join(', ')}
               FROM ${T}_live a0 ${joins}
              GROUP BY 1, ${alias.map((_, i) => i + 2).join(', ')}
             HAVING count(*) < $1) v ${sups}`,
    [k],
  );
}

/**
 * The manifest's `kmAnonymity` section (researchers read it: counts of rows follow the aggregate
 * rule, as counts of persons do; shares to 0.1 %). The exact figures are on the release for staff
 * (`excluded.kmAnonymity`).
 */
export function kmManifest(km: KmResult) {
  const kept = Object.values(km.rowsByNode).reduce((a, b) => a + b, 0);
  const share = (n: number) => (kept ? Math.round((n / kept) * 1000) / 10 : 0);
  const shown = (o: Record<string, number>) =>
    Object.fromEntries(Object.entries(o).map(([d, n]) => [d, shownCount(n)]));
  return {
    k: km.k,
    m: km.m,
    items:
      'per file of a row per event: the dataset and its event columns as released (event type, code system, code, dates; the location column at its level)',
    ladders: { code: [...CODE_LEVELS], period: [...PERIOD_LEVELS] },
    // Each demographic class has its own (code, period) levels: how many classes took each, and
    // the share of the rows kept at it.
    levels: Object.entries(km.classesByNode).map(([node, classes]) => {
      const [code, period] = node.split('/');
      return { code, period, classes, rowsSharePercent: share(km.rowsByNode[node] ?? 0) };
    }),
    rowsSuppressedByFile: shown(km.suppressedByFile),
    rowsGeneralisedByFile: shown(km.generalisedByFile),
    counting: `every set of at most m items a person carries is carried by at least k persons of their demographic class; counts of rows shown as * for 1-${PRIMARY_MAX}, else rounded to the nearest ${ROUND_TO}`,
  };
}

/**
 * Demographic and event levels chosen together: kᵐ-anonymity is tried within the classes
 * k-anonymity chose; where some file would lose more than the cap, with coarser demographic
 * classes — each ladder one rung up, then every ladder at its top (sex has no ladder) — whose
 * larger classes carry more persons per item. Coarsening only merges k-anonymity's classes, so
 * they stay at k or more (its suppression, made at the finer levels, stands). Returns the stage's
 * result and k-anonymity's choice with the levels the files will show; else fails the release with
 * the last miss.
 */
export async function kmAnonymiseJointly<C extends LatticeNode & { levels: Record<string, string> }>(
  q: Query,
  input: Omit<KmInput, 'kLevels'>,
  kAnon: C,
): Promise<{ km: KmResult | undefined; kAnon: C }> {
  const top = {
    age: AGE_LEVELS.length - 1,
    area: AREA_LEVELS.length - 1,
    ethnicity: ETHNICITY_LEVELS.length - 1,
  };
  const up = (n: LatticeNode, by: number): LatticeNode => ({
    ...n,
    age: Math.min(top.age, n.age + by),
    area: Math.min(top.area, n.area + by),
    ethnicity: Math.min(top.ethnicity, n.ethnicity + by),
  });
  const candidates: LatticeNode[] = [];
  for (const c of [kAnon, up(kAnon, 1), up(kAnon, 3)])
    if (!candidates.some((x) => x.age === c.age && x.area === c.area && x.ethnicity === c.ethnicity))
      candidates.push(c);
  let last: KmMiss | undefined;
  for (const levels of candidates) {
    const r = await kmAnonymise(q, { ...input, kLevels: levels });
    if (r && 'miss' in r) {
      last = r;
      continue;
    }
    const chosen: C = {
      ...kAnon,
      age: levels.age,
      area: levels.area,
      ethnicity: levels.ethnicity,
      levels: {
        ...kAnon.levels,
        age: AGE_LEVELS[levels.age],
        area: AREA_LEVELS[levels.area],
        ethnicity: ETHNICITY_LEVELS[levels.ethnicity],
      },
    };
    return { km: r, kAnon: chosen };
  }
  const { miss: c, k, m } = last!;
  const msg = (show: (n: number) => string) =>
    `kᵐ-anonymity with k=${k}, m=${m} would remove more than the allowed ${Math.round(input.maxShare * 100)}% of a file's event rows (at the least: ${c.file}, ${show(c.removed)} of ${show(c.rows)} rows)`;
  return input.fail(RELEASE_FAILURES.KM_ANONYMITY_UNACHIEVABLE, msg(shownCountText), msg(String));
}
