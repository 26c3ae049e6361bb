import { DATE_FIELDS, Dataset } from '@custodian/catalog';
import { shownCountText } from './disclosure-control';
import { RELEASE_FAILURES } from './release.errors';
import type { Query } from './engine/context';
import { AGE_LEVELS, AREA_LEVELS, ETHNICITY_LEVELS, LatticeNode } from './k-anonymity';
import { CODE_LEVELS, KM_NODES, MAX_M, PERIOD_LEVELS } from './km-anonymity';
import { KM_ITEM_FIELDS, kmItemFields, kmItemSql } from './km-anonymity.sql';
import { KM_SEARCH, kmEmptiedSql, kmSearchSql, kmStatsSql } from './km-round';
import { CopyStreams, KM_CLASS_LIMITS, kmSearch } from './km-search';
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

export { KM_SEARCH } from './km-round';

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
  /** COPY on the preparation's connection: the search reads the persons' tuples by class. */
  copy: CopyStreams;
  /** Where the search's spill files go (the release's build directory). */
  spillDir: string;
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
  /** Persons who lose every row of a file to it (the verifier's suppression audit expects them absent). */
  emptiedByFile: Record<string, number>;
  /** Rows kept whose dates (item periods) are released as year-month, year, or `*`. */
  periodRows: Record<string, number>;
  /** Nodes some class counted. */
  passes: number;
  /** Classes searched in SQL (too large for the worker's memory: km-search.ts). */
  classesInSql: number;
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
 * 2. the tuples of item columns (dates to the month) of the rows the files will carry (date range,
 *    blocked rows and suppressed person-location pairs left out), numbered through a small
 *    dictionary per file (`_t<file>`); every node's item of every tuple (`_map`, one table for the
 *    whole lattice);
 * 3. **each class chooses its own node** (local recoding; km-search.ts, one class at a time from
 *    the tuples read in class order): the first node of `KM_NODES` at which its items of fewer
 *    than k persons (m = 1), then the least supported item of each set of 2…m items still live
 *    carried by fewer than k of its persons, leave out no more than `maxShare` of the class's
 *    rows of each file. The last node (every code and period `*`) takes the classes left. A big
 *    class keeps dates to the month where a small one needs years;
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

  // 1. Classes: the released quasi-identifiers at the chosen levels (constants where not released);
  //    each person numbered (`pn`, in scan order: no sort), so that later steps group integers.
  //    A quasi-identifier that none of the person's event files shows is `*` for them, as where it
  //    is generalised to the top: an attacker sees nothing of it either way, so a person shown only
  //    in a file without the area (a hospital episode with no GP record) and one whose area is
  //    released as `*` are one class, here and in the verifier (an `unknown` district is a value).
  const l = levelSql(input.kLevels);
  const qi = input.qi;
  const shownBy = (field: string) =>
    files.reduce((b, d) => (d.fields.includes(field) ? b | FILE_BIT[d.dataset] : b), 0);
  const slot = (wanted: boolean, field: string, expr: string) => {
    const bits = shownBy(field);
    return wanted && bits ? `CASE WHEN rp.files & ${bits} <> 0 THEN ${expr} ELSE '*' END` : `'*'`;
  };
  const cls = [
    slot(qi.age, 'date_of_birth', `coalesce(nullif((${ageKey(l.age, 'rp.a5')})::text, '-1'), '*')`),
    slot(qi.sex, 'sex', `coalesce(rp.sex, 'U')`),
    slot(qi.area, 'postcode', areaAt(l.area, 'rp.district')),
    slot(qi.ethnicity, 'ethnicity', ethAt(l.ethnicity, 'rp.eth')),
  ].join(` || '|' || `);
  const bits = files.reduce((b, d) => b | FILE_BIT[d.dataset], 0);
  await q(`CREATE UNLOGGED TABLE ${T}_cls AS
    SELECT c.nhs, (row_number() OVER ())::int AS pn, n.cls
      FROM (SELECT rp.nhs, (${cls}) COLLATE "C" AS ct FROM rp
             WHERE rp.excl IS NULL AND rp.files & ${bits} <> 0) c
      JOIN (SELECT ct, (row_number() OVER (ORDER BY ct))::int AS cls FROM (
              SELECT DISTINCT (${cls}) COLLATE "C" AS ct FROM rp WHERE rp.excl IS NULL AND rp.files & ${bits} <> 0) d) n
        ON n.ct = c.ct`);
  await q(`ANALYZE ${T}_cls`);

  // 2. The rows' tuples, numbered through a small dictionary made from them (a hashed DISTINCT)
  //    and found again by a hash join on the values (no window sort over the persons' rows).
  const locLevel = (d: Dataset) => input.kLevels.location?.[d];
  const parts: string[] = [];
  for (const [fi, { dataset: d, fields }] of files.entries()) {
    const s = DATASET_SQL[d];
    const columns = [...new Set(kmItemFields(d, fields).flatMap((f) => KM_ITEM_FIELDS[d][f].columns))];
    // A date's month through `timestamp` (no time zone arithmetic, as through `timestamptz`).
    const select = columns.map((c) =>
      DATE_FIELDS.has(c) ? `date_trunc('month', x.${c}::timestamp)::date AS ${c}` : `x.${c}`,
    );
    const locField = LOCATION_QI_FIELD[d];
    const kept =
      locField && fields.includes(locField) ? pairKept(d, s.event[locField].expr, locLevel(d) ?? 2) : 'true';
    // The tuples first (a small dictionary: one hashed DISTINCT over the file's rows in range), then
    // the persons' rows grouped by person and tuple number (integers), the tuple found by a hash
    // join on the values (a stand-in for NULL that no value takes: a missing date or code is a
    // value too).
    await q(`CREATE UNLOGGED TABLE ${T}_t${fi} AS
      SELECT (row_number() OVER ())::int AS t${columns.length ? `, ${columns.join(', ')}` : ''}
        FROM (SELECT DISTINCT ${columns.length ? select.join(', ') : '1'} FROM ${s.table} x
               WHERE ${dateFilter(s.date, input.range)}) d`);
    await q(`ANALYZE ${T}_t${fi}`);
    // A column the table declares NOT NULL is joined as it is (the planner knows its statistics:
    // at 1M persons, through `coalesce` it expected 2,113 of 10M rows, sorted them for a merge join
    // and spilled, 39 s against 23 s as it is: docs/BENCHMARKS.md); another as a value with NULL.
    const notNull = new Set(
      (
        await q<{ attname: string }>(
          `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnotnull AND NOT attisdropped`,
          [s.table],
        )
      ).map((r) => r.attname),
    );
    const key = (c: string, v: string) =>
      notNull.has(c)
        ? v
        : DATE_FIELDS.has(c)
          ? `coalesce(${v}, DATE 'infinity')`
          : `coalesce(${v}::text, chr(2))`;
    const on = columns.length
      ? columns
          .map((c, i) => `${key(c, `d.${c}`)} = ${key(c, select[i].replace(/ AS \w+$/, ''))}`)
          .join(' AND ')
      : 'true';
    parts.push(`SELECT c.pn, c.cls, ${fi}::smallint AS ds, d.t
          FROM ${s.from} JOIN ${T}_cls c ON c.nhs = rp.nhs JOIN ${T}_t${fi} d ON ${on}
         WHERE ${dateFilter(s.date, input.range)} AND NOT ${s.blockedOwn} AND rp.files & ${FILE_BIT[d]} <> 0
           AND ${kept}`);
  }
  // Every event row the files will carry: person, class, file and tuple.
  const eventRows = parts.join(' UNION ALL ');
  // The search in SQL (the reference, and the classes too large for the worker) reads them as a
  // table with a row per person and tuple; the search in the worker reads them once, in class order.
  const base = async () => {
    await q(`CREATE UNLOGGED TABLE IF NOT EXISTS ${T}_base AS
      SELECT pn, cls, ds, t, count(*)::bigint AS n FROM (${eventRows}) e GROUP BY 1, 2, 3, 4`);
    await q(`ANALYZE ${T}_base`);
  };
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
  await q(`ANALYZE ${T}_map`);
  await q(`CREATE UNLOGGED TABLE ${T}_choice (cls int PRIMARY KEY, node smallint NOT NULL)`);
  await q(`CREATE UNLOGGED TABLE ${T}_gone (cls int NOT NULL, item int NOT NULL)`);
  // The rows removed: person and item (not every row kept: at 1M persons a table of every row took
  // 16.6 s to write).
  await q(`CREATE UNLOGGED TABLE ${T}_fin (pn int NOT NULL, item int NOT NULL)`);

  // 3. Each class takes the first node of `KM_NODES` that keeps its removals (m = 1 and sets) of
  //    each file within the cap (km-search.ts, class by class; km-round.ts, the same in SQL).
  const last = KM_NODES.length - 1;
  const dsName = files.map((f) => f.dataset as string);
  const rowsByFile: Record<string, number> = Object.fromEntries(dsName.map((d) => [d, 0]));
  const suppressedByFile: Record<string, number> = {};
  const generalisedByFile: Record<string, number> = {};
  const emptiedByFile: Record<string, number> = {};
  const rowsByNode: Record<string, number> = {};
  const periodRows: Record<string, number> = {};
  const classesByNode: Record<string, number> = {};
  const addTo = (o: Record<string, number>, key: string, n: number) => (o[key] = (o[key] ?? 0) + n);
  const fromSql = async (classes?: number[]) => {
    for (const r of await kmStatsSql(q, T, classes)) {
      const d = dsName[r.ds];
      const n = Number(r.n);
      rowsByFile[d] += n;
      if (r.gone) addTo(suppressedByFile, d, n);
      else {
        if (r.generalised) addTo(generalisedByFile, d, n);
        addTo(rowsByNode, nodeName(r.node), n);
        addTo(periodRows, PERIOD_LEVELS[KM_NODES[r.node].period], n);
      }
    }
    for (const r of await kmEmptiedSql(q, T, classes)) addTo(emptiedByFile, dsName[r.ds], Number(r.n));
    for (const r of await q<{ node: number; n: string }>(
      `SELECT node, count(*)::bigint AS n FROM ${T}_choice ${classes ? 'WHERE cls = ANY($1::int[])' : ''} GROUP BY node`,
      classes ? [classes] : [],
    ))
      addTo(classesByNode, nodeName(r.node), Number(r.n));
  };
  let passes: number;
  let classesInSql = 0;
  if (KM_SEARCH.reference) {
    await base();
    passes = await kmSearchSql(q, T, { k, m, maxShare, last });
    await fromSql();
    classesInSql = Object.values(classesByNode).reduce((a, b) => a + b, 0);
  } else {
    // The rows carry their tuple where every tuple's items fit the worker's memory; else each row
    // its item at every node (one row per tuple, `_mapw`, joined).
    const tuples: number[] = [];
    for (const fi of files.keys())
      tuples.push(Number((await q<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${T}_t${fi}`))[0].n));
    const narrow = tuples.reduce((a, b) => a + b, 0) * KM_NODES.length <= KM_CLASS_LIMITS.map;
    const each = KM_NODES.map((_, i) => i);
    if (!narrow)
      await q(
        `CREATE UNLOGGED TABLE ${T}_mapw AS SELECT ds, t, ${each
          .map((i) => `max(item) FILTER (WHERE node = ${i}) AS i${i}`)
          .join(', ')} FROM ${T}_map GROUP BY ds, t`,
      );
    const s = await kmSearch(input.copy, {
      select: narrow
        ? `SELECT e.cls, e.pn, e.ds, 1, e.t FROM (${eventRows}) e ORDER BY e.cls, e.pn`
        : `SELECT e.cls, e.pn, e.ds, 1, ${each.map((i) => `w.i${i}`).join(', ')}
             FROM (${eventRows}) e JOIN ${T}_mapw w ON w.ds = e.ds AND w.t = e.t ORDER BY e.cls, e.pn`,
      ...(narrow ? { tuples, map: `SELECT node, ds, t, item FROM ${T}_map` } : {}),
      T,
      files: files.length,
      k,
      m,
      maxShare,
      spillDir: input.spillDir,
    });
    passes = s.passes;
    for (const [fi, d] of dsName.entries()) {
      rowsByFile[d] = s.rows[fi];
      if (s.suppressed[fi]) suppressedByFile[d] = s.suppressed[fi];
      if (s.generalised[fi]) generalisedByFile[d] = s.generalised[fi];
      if (s.emptied[fi]) emptiedByFile[d] = s.emptied[fi];
    }
    for (const [node, n] of s.rowsByNode) rowsByNode[nodeName(node)] = n;
    for (const [period, n] of s.periodRows) periodRows[PERIOD_LEVELS[period]] = n;
    for (const [node, n] of s.classesByNode) classesByNode[nodeName(node)] = n;
    // Classes too large for the worker's memory: the same search in SQL.
    if (s.big.length) {
      await base();
      passes = Math.max(passes, await kmSearchSql(q, T, { k, m, maxShare, last, classes: s.big }));
      await fromSql(s.big);
      classesInSql = s.big.length;
    }
  }

  // 4. The persons' levels and the items gone for their class, as the shards compute them.
  const codeOf = `(ARRAY[${KM_NODES.map((n) => n.code).join(', ')}]::smallint[])[ch.node + 1]`;
  const periodOf = `(ARRAY[${KM_NODES.map((n) => n.period).join(', ')}]::smallint[])[ch.node + 1]`;
  await q(`UPDATE ${input.workRp} w SET kmc = ${codeOf}, kmp = ${periodOf}, kmgone = f.gone
      FROM ${T}_cls c JOIN ${T}_choice ch ON ch.cls = c.cls
      LEFT JOIN (SELECT f.pn, array_agg(DISTINCT i.text) AS gone FROM ${T}_fin f
                   JOIN (SELECT DISTINCT item, text FROM ${T}_map) i ON i.item = f.item
                  GROUP BY f.pn) f ON f.pn = c.pn
     WHERE w.nhs = c.nhs AND w.excl IS NULL`);

  // 5. The cap.
  await q(
    `DROP TABLE IF EXISTS ${T}_cls, ${T}_base, ${T}_map, ${T}_mapw, ${T}_choice, ${T}_gone, ${T}_fin, ${files
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
    emptiedByFile,
    periodRows,
    passes,
    classesInSql,
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
