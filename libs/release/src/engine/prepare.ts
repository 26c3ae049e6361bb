import path from 'node:path';
import { finished } from 'node:stream';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Dataset } from '@custodian/catalog';
import { DifferenceDecision, guardDifference } from '../release-ledger';
import { FILE_BIT, isPerEvent, unattributableCount } from '../release-sql';
import { objectionPolicy } from '../release-spec';
import { locationQis } from '../location-qi';
import { aggregate } from './aggregate';
import { buildCohort } from './cohort';
import {
  BuiltFile,
  buildDir,
  checkSnapshotId,
  ClaimedRelease,
  EngineContext,
  OUTPUT_FORMAT,
  Query,
  quasiIdentifiersOf,
  rangeOf,
  ReleaseFailure,
  withClient,
  workTables,
} from './context';
import { kAnonymise } from './k-anonymise';
import { kmAnonymiseJointly } from '../km-anonymise';
import type { CopyStreams } from '../km-search';
import { abandonConnection } from '../release-files';
import { linkageOf, type LinkageReport, riskTable, rowReasonsBySteps } from '../risk-report';

/**
 * Sort and hash memory of the preparation's statements (transaction-local): its sorts and
 * aggregates over a million persons spill to disk at the default 4 MB. It is per sort or hash node
 * and per parallel worker (hashes may take `hash_mem_multiplier` times it), so one preparation can
 * hold several times this at once; the same value as the intake's and the linkage's.
 */
const PREPARE_WORK_MEM = '128MB';

export type Prepared = Awaited<ReturnType<typeof prepare>>;

/**
 * Prepare stage: one REPEATABLE READ transaction on the coordinator's exported snapshot (cohort,
 * objections, identifiers, k-anonymity, counts; the working set committed to `release_work`).
 * `slowSteps` collects its statements slower than 100 ms.
 */
export async function prepareOnSnapshot(
  ctx: EngineContext,
  rel: ClaimedRelease,
  dir: string,
  snapshot: string,
  policy: ReturnType<typeof objectionPolicy>,
  recordLevel: boolean,
  slowSteps: [string, number][],
) {
  const spec = rel.spec;
  return withClient(ctx.db, async (client) => {
    // Statements (and COPYs) of 100 ms or more, by their opening words.
    const timing = (sql: string, started: number) => {
      const ms = Date.now() - started;
      if (ms >= 100) slowSteps.push([sql.replace(/\s+/g, ' ').trim().slice(0, 60), ms]);
    };
    const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => {
      const started = Date.now();
      const rows = (await client.query(sql, params)).rows as T[];
      timing(sql, started);
      return rows;
    };
    // COPY on the same connection (the transaction's scratch tables), timed like a statement; one
    // left half-read by an error leaves the connection unable to answer a ROLLBACK (see
    // `abandonConnection`).
    let copying = 0;
    let broken = false;
    const timed = <S extends NodeJS.ReadableStream | NodeJS.WritableStream>(sql: string, stream: S): S => {
      const started = Date.now();
      copying++;
      finished(stream, (err) => {
        // A COPY ended early (its reader failed) leaves the server sending: never ROLLBACK after it.
        if (err) broken = true;
        copying--;
        timing(sql, started);
      });
      return stream;
    };
    const copy: CopyStreams = {
      out: (sql) => timed(sql, client.query(copyTo(sql))),
      in: (sql) => timed(sql, client.query(copyFrom(sql))),
    };
    // The bid key is made (first release) outside the snapshot transaction, so concurrent first
    // releases of one bid agree on it.
    const bidKey = spec.tier === 'pseudonymised' ? await ctx.keys.bidKey(ctx.db, rel.bid_id) : undefined;
    try {
      await q(`BEGIN ISOLATION LEVEL REPEATABLE READ`);
      await q(`SET TRANSACTION SNAPSHOT '${checkSnapshotId(snapshot)}'`);
      await q(OUTPUT_FORMAT);
      await q(`SELECT set_config('work_mem', $1, true)`, [PREPARE_WORK_MEM]);
      const result = await prepare(ctx, q, copy, rel, dir, policy, recordLevel, bidKey);
      await q(`COMMIT`);
      return result;
    } catch (err) {
      if (copying || broken) abandonConnection(client);
      else await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      bidKey?.fill(0);
    }
  });
}

/**
 * The preparation's statements, in its transaction: the cohort and objections (cohort.ts), the
 * bid's releases compared (release-ledger.ts), one tally of the persons, k-anonymity
 * (k-anonymise.ts), the exact counts of what is left out and the estimate, then the index the
 * shards read by (record level) or the aggregate table (aggregate.ts).
 */
export async function prepare(
  ctx: EngineContext,
  q: Query,
  copy: CopyStreams,
  rel: ClaimedRelease,
  dir: string,
  policy: ReturnType<typeof objectionPolicy>,
  recordLevel: boolean,
  bidKey: Buffer | undefined,
) {
  const spec = rel.spec;
  const datasets = spec.datasets.map((d) => d.dataset);
  const excluded: Record<string, unknown> = {};
  const setProgress = (done: number, estimated?: number) =>
    ctx.db
      .query(
        `UPDATE releases SET rows_done = $2, rows_estimated = COALESCE($3, rows_estimated) WHERE id = $1`,
        [rel.id, done, estimated ?? null],
      )
      .catch(() => undefined);

  // 1–3, 6: the objection snapshot and the working set (`rp`, `rel_blocked`, `rel_obj`).
  await buildCohort(ctx, q, rel, policy, recordLevel, bidKey);
  const work = workTables(rel.id);
  const range = rangeOf(spec);
  // Record level: the bid's releases compared with each other (release-ledger.ts, #27) — before
  // the counts, so that the persons it withholds are counted among those left out.
  let differencing: DifferenceDecision | undefined;
  if (recordLevel) {
    const key = ctx.keys.seedKey(rel.token_seed_enc, rel.id, 'difference-v1');
    try {
      differencing = await guardDifference(
        q,
        { id: rel.id, bidId: rel.bid_id, organisationId: spec.organisationId },
        ctx.config.anonK,
        key,
      );
    } finally {
      key.fill(0);
    }
    excluded.differencing = differencing;
  }
  // One pass over the persons for every count the report needs of them: by reason left out,
  // GP rows (per-person counts), persons per file (a per-person file's size) and Type 2
  // objectors let in (legal bases that do not apply objections).
  const tally = await q<{
    excl: string | null;
    persons: string;
    gp_rows: string | null;
    type2: string;
    in_gp: string;
    in_hes: string;
    in_social_care: string;
  }>(
    `SELECT excl, count(*)::bigint AS persons, sum(gp_n)::bigint AS gp_rows,
            ${
              // Excluded objectors all have a reason; else the count reads the snapshot (a temp
              // table, which keeps the whole statement on one process).
              policy.excludeType2
                ? '0::bigint'
                : `count(*) FILTER (WHERE nhs IN (SELECT o.nhs FROM rel_obj o WHERE o.type = 'type2'))::bigint`
            } AS type2,
            ${(Object.keys(FILE_BIT) as Dataset[])
              .map((d) => `count(*) FILTER (WHERE files & ${FILE_BIT[d]} <> 0)::bigint AS in_${d}`)
              .join(', ')}
       FROM rp GROUP BY excl`,
  );
  const included = tally.find((t) => t.excl === null);

  // 4. Anonymised tier: k-anonymity over the quasi-identifiers that reach the files.
  let kAnon: Awaited<ReturnType<typeof kAnonymise>> | undefined;
  let km: Awaited<ReturnType<typeof kmAnonymiseJointly>>['km'];
  if (spec.tier === 'anonymised') {
    kAnon = await kAnonymise(
      ctx,
      q,
      work,
      datasets,
      quasiIdentifiersOf(spec),
      locationQis(spec.datasets),
      range,
    );
    // 4b. kᵐ-anonymity over the event items, each demographic class at its own levels, the
    //     classes coarsened where needed (km-anonymise.ts; its scratch tables go with the
    //     transaction if it rolls back).
    ({ km, kAnon } = await kmAnonymiseJointly(
      q,
      {
        workRp: work.rp,
        scratch: work.rp.replace(/_persons$/, '_km'),
        datasets: spec.datasets,
        qi: quasiIdentifiersOf(spec),
        range,
        k: ctx.config.anonK,
        m: ctx.config.anonM,
        maxShare: ctx.config.anonMaxSuppression,
        copy,
        spillDir: path.join(dir, buildDir(rel.attempts)),
        fail: (code, message, exact) => {
          throw new ReleaseFailure(code, message, exact);
        },
      },
      kAnon,
    ));
    if (km) excluded.kmAnonymity = km;
  }

  // 5. Exact counts of what is left out (staff only; never in the researchers' files).
  const left = tally.filter((t) => t.excl !== null).sort((a, b) => a.excl!.localeCompare(b.excl!));
  excluded.persons = Object.fromEntries(left.map((t) => [t.excl, Number(t.persons)]));
  excluded.type2ObjectorsIncluded = Number(included?.type2 ?? 0);
  // The persons left in (#24: the share of each release's population that objections removed).
  excluded.included = Number(included?.persons ?? 0);
  if (kAnon) {
    excluded.kAnonymitySuppressedByFile = kAnon.suppressedByFile;
    excluded.kAnonymity = {
      population: kAnon.population,
      populationByFile: kAnon.populationByFile,
      suppressed: kAnon.suppressed,
      suppressedByFile: kAnon.suppressedByFile,
      removedByFile: kAnon.removedByFile,
    };
  }
  excluded.rows = {};
  // The risk report's linkage figures (#24), from the same pass as the rows left out.
  const linkage: LinkageReport[] = [];
  let estimated = 0;
  for (const { dataset: d, fields } of spec.datasets) {
    const perEvent = isPerEvent(d, fields);
    const byReason: Record<string, number> = {};
    // GP rows by their person's reason (a GP row is never blocked on its own), from the
    // per-person counts; the other datasets' rows are scanned, by reason and linkage step.
    const bySteps =
      d === 'gp'
        ? []
        : await q<{ reason: string | null; step: string | null; in_file: boolean; n: string }>(
            rowReasonsBySteps(d, range, spec.tier),
          );
    if (d !== 'gp') linkage.push(linkageOf(d, bySteps));
    const reasons =
      d === 'gp'
        ? tally.filter((t) => Number(t.gp_rows ?? 0) > 0).map((t) => ({ reason: t.excl, n: t.gp_rows! }))
        : bySteps;
    for (const r of reasons) {
      if (r.reason === null) {
        if (perEvent) estimated += Number(r.n);
      } else byReason[r.reason] = (byReason[r.reason] ?? 0) + Number(r.n);
    }
    // A row per person: the shards are sized by persons (before k-anonymity's suppression).
    if (recordLevel && !perEvent) estimated += Number(included?.[`in_${d}`] ?? 0);
    const un = unattributableCount(d, range);
    if (un) {
      const [{ n }] = await q<{ n: string }>(un);
      if (Number(n) > 0 && recordLevel) byReason.no_nhs_number_unlinked = Number(n);
    }
    (excluded.rows as Record<string, unknown>)[d] = byReason;
  }
  await setProgress(0, estimated);

  // 8. Record level: the working set the shards read, committed with this transaction. `okey`
  //    orders the persons by their identifier (the files' order; shards are ranges of it).
  let aggregated: Awaited<ReturnType<typeof aggregate>> & { file: BuiltFile } = undefined!;
  if (recordLevel) {
    // The shards' slices are ranges of it, read in its order (without it, a per-person shard
    // scans every person and sorts its own).
    await q(`CREATE INDEX ON ${work.rp} (okey)`);
    // Where the shards leave their risk partials (risk-report.ts), committed with the working set.
    await q(riskTable(work.risk));
  } else {
    const agg = await aggregate(
      ctx,
      q,
      rel.id,
      rel.attempts,
      spec,
      range,
      path.join(dir, 'aggregate.csv.gz.partial'),
    );
    aggregated = { ...agg, file: { name: 'aggregate.csv.gz', ...agg.file } };
    // The guard's exact decision (#25): staff only, like every figure of `excluded`.
    if (agg.differencing.decision.comparedWith.length)
      excluded.aggregateDifferencing = agg.differencing.decision;
    // The values under their thresholds (exact, staff only like all of `excluded`): a recipient
    // reads the rule, never which or how many (one person's value would be one more).
    if (Object.keys(agg.leftOut).length) excluded.aggregateValuesLeftOut = agg.leftOut;
  }
  // The temp views would outlive the transaction in this pooled session.
  await q(`DROP VIEW rp, rel_blocked`);
  const persons = tally.reduce((n, t) => n + Number(t.persons), 0);
  return {
    excluded,
    estimated,
    persons,
    kAnon,
    km,
    differencing,
    linkage,
    aggregate: recordLevel ? undefined : aggregated,
  };
}
