/**
 * One round of the kᵐ search (km-anonymise.ts runs the rounds): the persons' items of the classes
 * counting a node, their supports, the items gone at m = 1 and the small sets of 2…m.
 */
import type { Query } from './engine/context';

/**
 * How the stage searches. By default class by class in the worker (km-search.ts); `reference`
 * runs the search in SQL instead — every class counts every node in order until one fits, and
 * every pair (the first version's search) — which the equality test compares with: the choice,
 * the removals and the figures must be the same.
 */
export const KM_SEARCH = { reference: false };

/**
 * The reference search over the stage's scratch tables (km-anonymise.ts makes `_base`, `_map`,
 * `_choice`, `_gone`): each class takes the first node of `KM_NODES` that keeps its removals
 * (m = 1 and sets) of each file within the cap; the open classes go up the lattice together. The
 * last node takes every class left. Returns the counting passes run (nodes some class counted).
 */
export async function kmSearchSql(
  q: Query,
  T: string,
  o: { k: number; m: number; maxShare: number; last: number; classes?: number[] },
): Promise<number> {
  // Every class, or those named (the classes too large for the search in the worker).
  const only = o.classes
    ? `WHERE b.cls = ANY('{${o.classes.map((c) => Math.trunc(c)).join(',')}}'::int[])`
    : '';
  await q(`CREATE UNLOGGED TABLE ${T}_rows AS
    SELECT cls, ds, sum(n)::bigint AS n FROM ${T}_base b ${only} GROUP BY 1, 2`);
  await q(`ANALYZE ${T}_rows`);
  await q(`CREATE UNLOGGED TABLE ${T}_open AS SELECT DISTINCT cls FROM ${T}_rows`);
  let passes = 0;
  for (let node = 0; node <= o.last; node++) {
    const [{ n: open }] = await q<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${T}_open`);
    if (Number(open) === 0) break;
    await q(`DROP TABLE IF EXISTS ${T}_cand`);
    await q(`CREATE UNLOGGED TABLE ${T}_cand AS SELECT cls, ${node}::smallint AS node FROM ${T}_open`);
    await q(`ANALYZE ${T}_cand`);
    passes++;
    await kmRound(q, T, o);
    await q(`DELETE FROM ${T}_open o USING ${T}_choice ch WHERE ch.cls = o.cls`);
  }
  // The rows removed (person and item).
  await q(`INSERT INTO ${T}_fin
    SELECT b.pn, m.item
      FROM ${T}_base b JOIN ${T}_choice ch ON ch.cls = b.cls
      JOIN ${T}_map m ON m.node = ch.node AND m.ds = b.ds AND m.t = b.t
      JOIN ${T}_gone g ON g.cls = b.cls AND g.item = m.item ${only}`);
  await q(
    `DROP TABLE IF EXISTS ${T}_rows, ${T}_open, ${T}_cand, ${T}_pi, ${T}_sup, ${T}_g, ${T}_ok, ${T}_live`,
  );
  return passes;
}

/** The reference's figures: rows per file, node and period, removed or generalised (`kmSearch`'s). */
export async function kmStatsSql(q: Query, T: string, classes?: number[]) {
  return q<{ ds: number; node: number; gone: boolean; generalised: boolean; n: string }>(
    `SELECT b.ds, ch.node, (g.cls IS NOT NULL) AS gone, m.item <> m0.item AS generalised, sum(b.n)::bigint AS n
       FROM ${T}_base b JOIN ${T}_choice ch ON ch.cls = b.cls
       JOIN ${T}_map m ON m.node = ch.node AND m.ds = b.ds AND m.t = b.t
       JOIN ${T}_map m0 ON m0.node = 0 AND m0.ds = b.ds AND m0.t = b.t
       LEFT JOIN ${T}_gone g ON g.cls = b.cls AND g.item = m.item
      ${classes ? `WHERE b.cls = ANY($1::int[])` : ''}
      GROUP BY 1, 2, 3, 4`,
    classes ? [classes] : [],
  );
}

/**
 * Per file, the persons of `classes` (all where not given) who lose every row of it: each of their
 * items at their class's node gone (as `kmSearch`'s `emptied`).
 */
export async function kmEmptiedSql(q: Query, T: string, classes?: number[]) {
  return q<{ ds: number; n: string }>(
    `SELECT ds, count(*)::bigint AS n FROM (
       SELECT b.ds, b.pn FROM ${T}_base b JOIN ${T}_choice ch ON ch.cls = b.cls
         JOIN ${T}_map m ON m.node = ch.node AND m.ds = b.ds AND m.t = b.t
         LEFT JOIN ${T}_gone g ON g.cls = b.cls AND g.item = m.item
        ${classes ? `WHERE b.cls = ANY($1::int[])` : ''}
        GROUP BY 1, 2 HAVING bool_and(g.cls IS NOT NULL)) e
      GROUP BY ds`,
    classes ? [classes] : [],
  );
}

/**
 * One round of the search: each class of `_cand` counts its node. Supports (persons) and rows per
 * class and item at the node, in one aggregate over the persons' items; items of fewer than k
 * persons gone (m = 1); for the classes whose m = 1 removals stay within the cap (the others fail
 * at this node: the sets only remove more), sets of 2…m. A class within budget, or at the last node
 * (which takes whatever it costs: the file's cap is checked at the end), takes the node and its items
 * gone (`_choice`, `_gone`).
 */
async function kmRound(
  q: Query,
  T: string,
  o: { k: number; m: number; maxShare: number; last: number },
): Promise<void> {
  await q(`DROP TABLE IF EXISTS ${T}_pi, ${T}_sup, ${T}_g, ${T}_ok, ${T}_live`);
  // Each person's items at their class's node (rows per item), once for the supports and the sets.
  await q(`CREATE UNLOGGED TABLE ${T}_pi AS
    SELECT b.pn, b.cls, b.ds, m.item, sum(b.n)::bigint AS n FROM ${T}_base b JOIN ${T}_cand c ON c.cls = b.cls
      JOIN ${T}_map m ON m.node = c.node AND m.ds = b.ds AND m.t = b.t
     GROUP BY 1, 2, 3, 4`);
  await q(`CREATE UNLOGGED TABLE ${T}_sup AS
    SELECT cls, ds, item, count(*)::int AS persons, sum(n)::bigint AS n FROM ${T}_pi GROUP BY 1, 2, 3`);
  await q(`ANALYZE ${T}_sup`);
  await q(`CREATE UNLOGGED TABLE ${T}_g AS SELECT cls, item FROM ${T}_sup WHERE persons < $1`, [o.k]);
  // A class is within budget when no file loses more than its share of the class's rows of it.
  const settled = `SELECT r.cls FROM ${T}_rows r JOIN ${T}_cand c ON c.cls = r.cls LEFT JOIN (
        SELECT s.cls, s.ds, sum(s.n) AS n FROM ${T}_sup s JOIN ${T}_g g ON g.cls = s.cls AND g.item = s.item
         GROUP BY 1, 2) x ON x.cls = r.cls AND x.ds = r.ds
      GROUP BY r.cls HAVING bool_and(coalesce(x.n, 0) <= floor(r.n * $1::float8)) OR min(c.node) = ${o.last}`;
  if (o.m > 1) {
    await q(`CREATE UNLOGGED TABLE ${T}_ok AS ${settled}`, [o.maxShare]);
    // Each person's items still live, with the item's persons in the class.
    await q(
      `CREATE UNLOGGED TABLE ${T}_live AS
      SELECT i.pn, i.cls, i.item, s.persons AS p FROM ${T}_pi i
        JOIN ${T}_sup s ON s.cls = i.cls AND s.item = i.item
       WHERE i.cls IN (SELECT cls FROM ${T}_ok) AND s.persons >= $1`,
      [o.k],
    );
    await q(`ANALYZE ${T}_live`);
    for (let size = 2; size <= o.m; size++) await smallSets(q, T, size, o.k);
  }
  await q(`CREATE TEMP TABLE rel_km_take ON COMMIT DROP AS ${settled}`, [o.maxShare]);
  await q(
    `INSERT INTO ${T}_choice SELECT c.cls, c.node FROM ${T}_cand c JOIN rel_km_take t ON t.cls = c.cls`,
  );
  await q(`INSERT INTO ${T}_gone SELECT g.cls, g.item FROM ${T}_g g JOIN rel_km_take t ON t.cls = g.cls`);
  await q(`DROP TABLE rel_km_take`);
}

/**
 * Sets of `size` items among the items each person of a class in `_ok` still carries (`_live`):
 * a set of fewer than k persons loses its least supported item (ties: the greater item) for the
 * whole class. Only items that survived the smaller sets take part, so the pairs stay few.
 */
async function smallSets(q: Query, T: string, size: number, k: number): Promise<void> {
  if (size > 2) await q(`DELETE FROM ${T}_live l USING ${T}_g g WHERE g.cls = l.cls AND g.item = l.item`);
  if (size === 2) {
    // Pairs: every pair of live items a person carries, counted.
    await addGone(
      q,
      T,
      `SELECT DISTINCT v.cls, CASE WHEN v.p0 < v.p1 THEN v.i0 ELSE v.i1 END AS item
         FROM (SELECT a0.cls, a0.item AS i0, a1.item AS i1, min(a0.p) AS p0, min(a1.p) AS p1
                 FROM ${T}_live a0 JOIN ${T}_live a1 ON a1.pn = a0.pn AND a1.item > a0.item
                GROUP BY 1, 2, 3
               HAVING count(*) < $1) v`,
      [k],
    );
    return;
  }
  const alias = Array.from({ length: size }, (_, i) => `a${i}`);
  const joins = alias
    .slice(1)
    .map((a, i) => `JOIN ${T}_live ${a} ON ${a}.pn = a0.pn AND ${a}.item > ${alias[i]}.item`)
    .join(' ');
  const sups = alias
    .map((_, i) => `JOIN ${T}_sup s${i} ON s${i}.cls = v.cls AND s${i}.item = v.i${i}`)
    .join(' ');
  await addGone(
    q,
    T,
    `SELECT DISTINCT v.cls, (SELECT w.it FROM (VALUES ${alias
      .map((_, i) => `(v.i${i}, s${i}.persons)`)
      .join(', ')}) w(it, p) ORDER BY w.p, w.it DESC LIMIT 1) AS item
       FROM (SELECT a0.cls, ${alias.map((a, i) => `${a}.item AS i${i}`).join(', ')}
               FROM ${T}_live a0 ${joins}
              GROUP BY 1, ${alias.map((_, i) => i + 2).join(', ')}
             HAVING count(*) < $1) v ${sups}`,
    [k],
  );
}

/**
 * Adds the items a set count removes to `_g`. Through a table made by `CREATE TABLE … AS`, which
 * PostgreSQL may run with parallel workers, where `INSERT … SELECT` always runs in one process: the
 * pairs' join and aggregate (27M person-pairs into 12M groups at 1M persons) took 54 s inserted and
 * 34 s made as a table on this machine (docs/BENCHMARKS.md).
 */
async function addGone(q: Query, T: string, select: string, params: unknown[]): Promise<void> {
  await q(`DROP TABLE IF EXISTS ${T}_gn`);
  await q(`CREATE UNLOGGED TABLE ${T}_gn AS ${select}`, params);
  await q(`INSERT INTO ${T}_g SELECT cls, item FROM ${T}_gn`);
  await q(`DROP TABLE ${T}_gn`);
}
