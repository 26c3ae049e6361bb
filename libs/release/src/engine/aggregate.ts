import { AggregateDimension } from '@custodian/catalog';
import { AGG_MAX_CELLS, crossProductCells, crossProductSize } from '../aggregate-cells';
import { aggregateDifferencingManifest, guardAggregateCells } from '../aggregate-differencing';
import { aggregateRequest, PopulationMargin, populationThreshold } from '../aggregate-threshold';
import { PRIMARY_MAX, ROUND_TO } from '../disclosure-control';
import { csvLine, writeContent } from '../release-files';
import { areaOf, DATASET_SQL, dateFilter, ethnicGroupOf, EventRange } from '../release-sql';
import { RELEASE_FAILURES } from '../release.errors';
import { ReleaseSpec } from '../release.types';
import { EngineContext, Query, ReleaseFailure } from './context';

/**
 * Aggregate stage (the aggregate tier, in the preparation's transaction): counts of distinct
 * persons by the requested dimensions over the working set, checked against the minimum
 * population (with its keyed margin), every cell of the dimensions' cross-product shown,
 * disclosure control applied, and written to `file` (aggregate.csv.gz, still `.partial`).
 */
export async function aggregate(
  ctx: EngineContext,
  q: Query,
  releaseId: string,
  /** The release's attempt: each attempt's decision is audited as its own (a retry decides again). */
  attempt: number,
  spec: ReleaseSpec,
  range: EventRange,
  file: string,
) {
  const dims: AggregateDimension[] = spec.aggregation?.dimensions ?? [];
  const dimExpr: Record<AggregateDimension, string> = {
    sex: `coalesce(rp.sex, 'U')`,
    // Top-coded: a band above 90 is a handful of people in most cohorts.
    age_band: `CASE WHEN rp.a5 IS NULL THEN 'unknown' WHEN rp.a5 >= 90 THEN '90+' ELSE rp.a5 || '-' || (rp.a5 + 4) END`,
    ethnic_group: ethnicGroupOf('rp.eth'),
    postcode_area: areaOf('rp.district'),
    year: `coalesce(extract(year FROM ev.d)::int::text, 'unknown')`,
    code: `coalesce(ev.c, 'unknown')`,
  };
  const events = spec.datasets
    .map((d) => {
      const s = DATASET_SQL[d.dataset];
      return `SELECT rp.nhs, ${s.date} AS d, ${s.code}::text AS c FROM ${s.from}
               WHERE ${dateFilter(s.date, range)} AND rp.excl IS NULL AND NOT ${s.blockedOwn}`;
    })
    .join(' UNION ALL ');
  // Each person's cells (their dimension values, once per distinct combination), in one scan of the
  // events: every count below reads it, however many rounds leaving values out takes. A scan per
  // round made the release's duration tell whether a value was left out — one person's (review-29:
  // 1.5 s without the target's code, 2.5 s with it, the table the same) — and a chain of values
  // left out one per round cost a full scan each (30 s against 0.75 s).
  await q(
    `CREATE TEMP TABLE agg_cells ON COMMIT DROP AS
     SELECT DISTINCT ${[...dims.map((d, i) => `(${dimExpr[d]})::text AS k${i}`), 'ev.nhs'].join(', ')}
       FROM (${events}) ev JOIN rp ON rp.nhs = ev.nhs`,
  );
  await q(`ANALYZE agg_cells`);
  const cellsOf = `SELECT * FROM agg_cells`;
  // SPEC §5 step 5: a minimum population behind the table and behind each value of each
  // dimension (each row and column of it), counted before any cell is shown. A cohort of one
  // person made a table of that person's own record, `*` by `*`. Each comparison needs
  // AGG_MIN_POPULATION + a keyed offset of its own, the same for every release of this request
  // of the bid: at exactly the minimum, "refused or released" told one person's condition or
  // Type 1 objection (probe 27; aggregate-threshold.ts).
  const min = ctx.config.aggMinPopulation;
  const width = ctx.config.aggMinPopulationMargin;
  const request = aggregateRequest(spec);
  const key = ctx.keys.aggregateThresholdKey();
  // A value of a dimension under its threshold is left out of the table, its events counted
  // nowhere, never a refusal: a value one person holds (`90+`, a rare code) refused the table, and
  // without that person the value did not exist and the table was released, so the outcome told
  // whether the person had the code or had objected (review-27). Leaving a value out can leave
  // another under its threshold, so again until none is: the largest set of values each of which
  // meets its threshold counting only the events of values kept. A person whose events all lie in
  // values under their thresholds changes nothing in the table, nor whether it is released.
  const leftOut: string[][] = dims.map(() => []);
  const kept = dims.length
    ? `WHERE ${dims.map((_, i) => `NOT (x.k${i} = ANY($${i + 1}::text[]))`).join(' AND ')}`
    : '';
  // Each round: the whole table and every value of every dimension, as grouping sets. The
  // values kept (in the order `ORDER BY` gives them) are the dimensions' domains: the table shows
  // every cell of their cross-product, empty ones as `*` (#27; `aggregate-cells.ts`).
  const sets = ['()', ...dims.map((_, i) => `(k${i})`)].join(', ');
  const grouping = dims.length ? `GROUPING(${dims.map((_, i) => `k${i}`).join(', ')})` : '0';
  // GROUPING's bit for dimension i (the leftmost argument is the highest bit) is 0 where grouped.
  const all = (1 << dims.length) - 1;
  const bit = (i: number) => all ^ (1 << (dims.length - 1 - i));
  const marginOf = (m: Record<string, string | number>): PopulationMargin => {
    const i = dims.findIndex((_, j) => Number(m.g) === bit(j));
    return i < 0 ? null : { dimension: dims[i], value: String(m[`k${i}`]) };
  };
  const thresholdOf = (m: Record<string, string | number>) =>
    populationThreshold(key, request, marginOf(m), min, width);
  let margins: Record<string, string | number>[];
  for (;;) {
    margins = await q<Record<string, string | number>>(
      `SELECT ${[...dims.map((_, i) => `k${i}`), `${grouping}::int AS g`, 'count(DISTINCT x.nhs)::int AS n'].join(', ')}
         FROM (${cellsOf}) x ${kept}
        GROUP BY GROUPING SETS (${sets}) ORDER BY ${['g', ...dims.map((_, i) => `k${i}`)].join(', ')}`,
      leftOut,
    );
    const thinValues = margins.filter((m) => marginOf(m) && Number(m.n) < thresholdOf(m));
    if (!thinValues.length) break;
    for (const m of thinValues) {
      const i = dims.indexOf(marginOf(m)!.dimension as AggregateDimension);
      leftOut[i].push(String(m[`k${i}`]));
    }
  }
  const table = margins.find((m) => !marginOf(m));
  if (!table || Number(table.n) < thresholdOf(table)) {
    // Recipients read neither the offset nor a count; staff read the count (`exact`), not the offset.
    throw new ReleaseFailure(
      RELEASE_FAILURES.AGG_POPULATION_TOO_SMALL,
      `the table has too few persons behind it, counting only the values of its dimensions that each have enough: fewer than AGG_MIN_POPULATION (${min})${width ? ` plus a margin of 0-${width} kept secret, the same in every release of this bid` : ''}`,
      table
        ? `the table has ${Number(table.n)} persons behind it (values left out: ${valuesLeftOut(dims, leftOut)}), fewer than its threshold (AGG_MIN_POPULATION ${min} + a keyed margin of 0-${width})`
        : `nobody is behind the table (values left out: ${valuesLeftOut(dims, leftOut)})`,
    );
  }
  const domains = dims.map((_, i) =>
    margins.filter((m) => Number(m.g) === bit(i)).map((m) => String(m[`k${i}`])),
  );
  if (crossProductSize(domains) > AGG_MAX_CELLS)
    throw new ReleaseFailure(
      RELEASE_FAILURES.AGG_TABLE_TOO_LARGE,
      `the cross-product of the dimensions' values has more than ${AGG_MAX_CELLS} cells; request fewer dimensions`,
    );
  const rows = await q<Record<string, string | number>>(
    `SELECT ${[...dims.map((_, i) => `k${i}`), 'count(DISTINCT x.nhs)::int AS n'].join(', ')}
       FROM (${cellsOf}) x ${kept}
      ${dims.length ? `GROUP BY ${dims.map((_, i) => i + 1).join(', ')}` : ''}`,
    leftOut,
  );
  const cells = crossProductCells(
    domains,
    rows.map((r) => ({ key: dims.map((_, i) => String(r[`k${i}`])), count: Number(r.n) })),
  );
  // The organisation's earlier tables compared with this one (#25, #27; aggregate-differencing.ts):
  // a cell within 7 persons of an earlier one shows that one's figure. Never refused, never hidden
  // for it: either answer would tell the difference.
  const release = { id: releaseId, bidId: spec.bidId, organisationId: spec.organisationId };
  const guarded = await guardAggregateCells(q, release, spec, dims, cells);
  const { decision } = guarded;
  if (decision.outcome !== 'none')
    await ctx.audit.record({
      action: 'release.aggregate_differencing',
      outcome: 'success',
      actor: null,
      bidId: spec.bidId,
      subjectType: 'Release',
      subjectId: releaseId,
      details: {
        attempt,
        decision: decision.outcome,
        comparedWith: decision.comparedWith,
        cellsHeld: decision.held.length,
        ms: decision.ms,
      },
    });
  const shown = guarded.cells;
  const lines = [csvLine([...dims, 'patients']), ...shown.map((c) => csvLine([...c.key, c.shown]))];
  const written = await writeContent(file, lines.join(''), true, shown.length);
  return {
    file: written,
    dictionary: [
      ...dims.map(
        (d) =>
          [
            d,
            `dimension ${d}: its values with at least AGG_MIN_POPULATION persons behind them (plus a margin kept secret); a value with fewer is left out, its events counted in no cell`,
          ] as [string, string],
      ),
      [
        'patients',
        `distinct patients: * for 0-${PRIMARY_MAX} (every cell of the dimensions' cross-product is shown) or to protect another cell, else rounded to the nearest ${ROUND_TO}; a cell within ${PRIMARY_MAX} persons of a cell of an earlier aggregate table to the organisation shows that cell's figure (manifest: aggregateDifferencing)`,
      ] as [string, string],
    ],
    info: {
      dimensions: dims,
      primarySuppressionMax: PRIMARY_MAX,
      roundingBase: ROUND_TO,
      cells: shown.length,
      suppressedCells: shown.filter((c) => c.suppressed).length,
    },
    differencing: { decision, manifest: aggregateDifferencingManifest(decision) },
    /** Staff only (exact): each dimension's values left out under their thresholds. */
    leftOut: Object.fromEntries(dims.flatMap((d, i) => (leftOut[i].length ? [[d, leftOut[i]]] : []))),
  };
}

/** The values left out, for staff: `sex=M, age_band=90+` (or `none`). */
const valuesLeftOut = (dims: AggregateDimension[], leftOut: string[][]): string =>
  dims.flatMap((d, i) => leftOut[i].map((v) => `${d}=${v}`)).join(', ') || 'none';
