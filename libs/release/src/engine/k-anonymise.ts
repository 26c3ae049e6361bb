import { Dataset } from '@custodian/catalog';
import { shownCountText } from '../disclosure-control';
import {
  AREA_LEVELS,
  chooseNode,
  closestMiss,
  combineNodes,
  FileNodeStats,
  LatticeNode,
  nodeHeight,
  NodeStats,
  withinBudget,
} from '../k-anonymity';
import { locationBaseRows, locationPairsTable, suppressPairs } from '../location-qi.sql';
import {
  areaOf,
  classOf,
  ethnicGroupOf,
  EventRange,
  FILE_BIT,
  levelSql,
  QuasiIdentifiers,
  regionOf,
} from '../release-sql';
import { RELEASE_FAILURES } from '../release.errors';
import { EngineContext, Query, ReleaseFailure, WorkTables } from './context';

export type KAnonymised = Awaited<ReturnType<typeof kAnonymise>>;

/**
 * Chooses the generalisation levels (the least generalised lattice node whose small classes
 * stay within the suppression budget) and takes the persons of classes still smaller than k at
 * them out of that file (clears its bit in `rp.files`). Classes are counted per output
 * file (a person is in a file when they have rows in it) over the full tuple of released
 * quasi-identifiers, so joining files by person_token refines nothing. A file with a location
 * column (location-qi.ts) is counted per person-location pair, with its own location ladder in
 * the lattice; a pair in a small class loses its rows (the person's `ksup`), not the person.
 */
export async function kAnonymise(
  ctx: EngineContext,
  q: Query,
  work: WorkTables,
  datasets: Dataset[],
  qi: QuasiIdentifiers,
  /** The location column of each file that carries one (location-qi.ts). */
  locations: Partial<Record<Dataset, string>>,
  range: EventRange,
) {
  const k = ctx.config.anonK;
  const locationFiles = Object.keys(locations) as Dataset[];
  // Base cells: persons per file and combination of base values (unused quasi-identifiers are
  // constants, so they split nothing), counted from the working set alone. A file without a
  // location column has one row per cell (`ll` 0, `loc` '*'); a location file one per cell,
  // location level `ll` and location class key `loc`, counting distinct persons of that pair.
  const cell = baseCell(qi);
  const perFile = datasets
    .filter((d) => !locations[d])
    .map(
      (
        d,
      ) => `SELECT '${d}'::text AS dataset, ${cell.a5} AS a5, ${cell.sex} AS sex, ${cell.eth} AS eth, ${cell.district} AS district,
               0 AS ll, '*'::text AS loc
         FROM rp WHERE excl IS NULL AND files & ${FILE_BIT[d]} <> 0`,
    );
  if (locationFiles.length) {
    await q(locationPairsTable(locations, range, baseCell(qi, 'rp.')));
    perFile.push(locationBaseRows(locations));
  }
  // Each cell carries its ladders' upper rungs, derived once per cell rather than once per node
  // (a quasi-identifier not released is '*' throughout, and so are its rungs' classes).
  await q(`CREATE TEMP TABLE rel_kbase ON COMMIT DROP AS
    SELECT c.*, ${areaOf('c.district')} AS parea, ${regionOf(areaOf('c.district'))} AS region,
           ${ethnicGroupOf('c.eth')} AS eg
      FROM (SELECT dataset, a5, sex, eth, district, ll, loc, count(*)::bigint AS n
              FROM (${perFile.join(' UNION ALL ')}) b GROUP BY 1, 2, 3, 4, 5, 6, 7) c`);
  // Persons per file (the rows at `*`: one per person): the suppression cap is a share of each
  // file's persons, not of the pool.
  const populations: Record<string, number> = Object.fromEntries(datasets.map((d) => [d, 0]));
  for (const r of await q<{ dataset: string; n: string }>(
    `SELECT dataset, sum(n)::bigint AS n FROM rel_kbase WHERE loc = '*' GROUP BY dataset`,
  ))
    populations[r.dataset] = Number(r.n);
  const pop = Object.values(populations).reduce((a, b) => a + b, 0);
  const maxShare = ctx.config.anonMaxSuppression;
  // The lattice, one height of the person ladders (age, area, ethnicity) at a time, each node
  // counted at every location level of each location file: persons (person-location pairs in a
  // location file) in classes smaller than k (integer age keys: the same partition as the files'
  // age bands). A node's height adds its location levels, so counting stops once the person
  // height passes the lowest qualifying node's height: no node above it could win.
  const top = { a: qi.age ? 3 : 0, r: qi.area ? AREA_LEVELS.length - 1 : 0, e: qi.ethnicity ? 2 : 0 };
  const node = classOf(qi, { age: 'n.a', area: 'n.r', ethnicity: 'n.e' }, 'b.');
  const counted: FileNodeStats[] = [];
  let nodes: NodeStats[] = [];
  let best = Infinity;
  for (let height = 0; height <= top.a + top.r + top.e && height <= best; height++) {
    const stats = await q<{
      age: number;
      area: number;
      ethnicity: number;
      dataset: string;
      ll: number;
      suppressed: string;
    }>(
      `WITH nodes AS (
         SELECT a, r, e FROM generate_series(0, ${top.a}) a, generate_series(0, ${top.r}) r,
                generate_series(0, ${top.e}) e WHERE a + r + e = $2
       ), cls AS (
         -- grouped by output columns: a quasi-identifier not released is a constant ('*')
         SELECT a, r, e, dataset, ll, sum(n) AS size FROM (
           SELECT n.a, n.r, n.e, b.dataset, b.ll, ${node.a} AS ca, ${node.s} AS cs, ${node.r} AS cr, ${node.e} AS ce, b.loc, b.n
             FROM rel_kbase b CROSS JOIN nodes n) c
          GROUP BY a, r, e, dataset, ll, ca, cs, cr, ce, loc
       )
       SELECT a AS age, r AS area, e AS ethnicity, dataset, ll,
              coalesce(sum(size) FILTER (WHERE size < $1), 0)::bigint AS suppressed
         FROM cls GROUP BY a, r, e, dataset, ll`,
      [k, height],
    );
    counted.push(...stats.map((s) => ({ ...s, suppressed: Number(s.suppressed) })));
    nodes = combineNodes(counted, locationFiles);
    for (const n of nodes) if (withinBudget(n, populations, maxShare)) best = Math.min(best, nodeHeight(n));
  }
  if (pop === 0)
    nodes.push({
      age: 0,
      area: 0,
      ethnicity: 0,
      ...(locationFiles.length ? { location: Object.fromEntries(locationFiles.map((d) => [d, 0])) } : {}),
      suppressed: 0,
      suppressedByFile: {},
    });
  const choice = chooseNode(nodes, populations, maxShare, locations);
  if (!choice) {
    // Every node was counted. The reason names the closest miss; recipients read its counts of
    // persons by the aggregate rule, staff the exact ones.
    const miss = closestMiss(nodes, populations)!;
    const reason = (show: (n: number) => string) =>
      `k-anonymity with k=${k} would suppress more than the allowed ${Math.round(maxShare * 100)}% of a file's persons (at the least: ${miss.file}, ${show(miss.suppressed)} of ${show(miss.population)})`;
    throw new ReleaseFailure(
      RELEASE_FAILURES.K_ANONYMITY_UNACHIEVABLE,
      reason(shownCountText),
      reason(String),
    );
  }
  // The classes still smaller than k at the chosen levels (each file at its own location level):
  // their persons — in a location file below `*`, their pairs — leave that file. They are found
  // by their base cells (a join on the stored columns), not by generalising every person again.
  const base = classOf(qi, levelSql(choice), 'b.');
  const chosenLl = locationFiles.length
    ? `CASE b.dataset ${locationFiles.map((d) => `WHEN '${d}' THEN ${locationLevelOf(choice, d)}`).join(' ')} ELSE 0 END`
    : '0';
  await q(
    `CREATE TEMP TABLE rel_small ON COMMIT DROP AS
     SELECT b.dataset, coalesce(b.a5, -1) AS a5, b.sex, b.eth, b.district, b.loc FROM rel_kbase b
      WHERE b.ll = ${chosenLl} AND (b.dataset, ${base.a}, ${base.r}, ${base.e}, ${base.s}, b.loc) IN (
        SELECT b.dataset, ${base.a}, ${base.r}, ${base.e}, ${base.s}, b.loc FROM rel_kbase b
         WHERE b.ll = ${chosenLl} GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(b.n) < $1)`,
    [k],
  );
  // Suppressed pairs are marked in the person's `ksup` (`<file>:<location key>`), which the
  // file's SELECT reads.
  if (locationFiles.length) await q(`ALTER TABLE ${work.rp} ADD COLUMN ksup text[]`);
  const person = baseCell(qi, 'rp.');
  const suppressedByFile: Record<string, number> = {};
  const removedByFile: Record<string, number> = {};
  for (const d of datasets) {
    const bit = FILE_BIT[d];
    const ll = locations[d] ? locationLevelOf(choice, d) : 2;
    const [{ touched, removed }] =
      ll < 2
        ? await q<{ touched: string; removed: string }>(suppressPairs(work.rp, d, ll))
        : await q<{ touched: string; removed: string }>(
            `WITH gone AS (
               UPDATE ${work.rp} rp SET files = files & ~${bit}
                WHERE rp.excl IS NULL AND rp.files & ${bit} <> 0
                  AND (coalesce(${person.a5}, -1), ${person.sex}, ${person.eth}, ${person.district})
                      IN (SELECT a5, sex, eth, district FROM rel_small WHERE dataset = '${d}')
               RETURNING 1)
             SELECT count(*)::bigint AS touched, count(*)::bigint AS removed FROM gone`,
          );
    if (Number(touched) > 0) suppressedByFile[d] = Number(touched);
    if (Number(removed) > 0) removedByFile[d] = Number(removed);
  }
  const suppressed = Object.values(suppressedByFile).reduce((a, b) => a + b, 0);
  return {
    ...choice,
    k,
    population: pop,
    populationByFile: populations,
    suppressed,
    suppressedByFile,
    removedByFile,
  };
}

/**
 * A person's base cell: the stored values of the quasi-identifiers the files carry, a constant for
 * the others (so they split nothing). `p` prefixes the working set's columns.
 */
function baseCell(qi: QuasiIdentifiers, p = '') {
  return {
    a5: qi.age ? `${p}a5` : 'NULL::int',
    sex: qi.sex ? `coalesce(${p}sex, 'U')` : `'*'`,
    eth: qi.ethnicity ? `${p}eth` : `'*'`,
    district: qi.area ? `${p}district` : `'*'`,
  };
}

/** A chosen node's level for a location file, checked (it is written into SQL text). */
function locationLevelOf(node: LatticeNode, dataset: Dataset): number {
  const l = node.location?.[dataset];
  if (l === undefined || !Number.isInteger(l) || l < 0 || l > 2)
    throw new Error('no location level for the file');
  return l;
}
