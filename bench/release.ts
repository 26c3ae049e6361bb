/**
 * `release`: a pseudonymised GP + HES release (shards, gzip, SHA-256, manifest) built by two worker
 * processes, beside a raw COPY of the same joined rows to /dev/null over two parallel streams (the
 * machine's limit for reading those rows). ratio = raw COPY seconds / release seconds, i.e. the
 * release's throughput as a share of the raw COPY's (target ≥ 0.75). `verify_share` is the
 * independent verifier's time as a share of the release's (target ≤ 0.15).
 *
 * Issue #22's figures, each beside its baseline in the same run:
 * - `shard_pages_x` / `shard_rows_x`: heap pages (rows) of the source tables read by all shards
 *   together, over the tables' pages (rows) — the default shards, and `--spread-shards` (8) shards
 *   of the same release (`spread_pages_x`); target ≤ 1.3. `release_pages_x`: every phase's reads.
 * - `serial_share`: preparation + assembly (the verification and risk report taken out) over the
 *   release's seconds (target ≤ 0.15); `serial_share_all` keeps them in.
 * - `cpu_x`: release CPU-seconds over the raw COPY's (target ≤ 2).
 * - `cohort_share`: a ~1% condition-code cohort's release over the full release (target ≤ 0.05).
 *
 *   npm run bench -- --only release [--scale large]
 *   node dist/bench/release.js --patients 1000000 --per 10 [--workers 2]   (DATABASE_URL or embedded)
 */
import 'reflect-metadata';
import { argValue, benchDatabase, busyShare, peakRssMb, report, round } from './common';
import { BENCH_BID, releaseDataset } from './dataset';
import { parallelCopy, PSEUDONYMISED, ReleaseRun, releaseEnvFromArgs, runRelease } from './release-run';

/** Reads over the tables' size: heap pages and rows (issue #22, target 1). */
const readsX = (r: ReleaseRun, of: 'shards' | 'release') => ({
  pages: r.reads[of].heap / r.reads.tables.pages,
  rows: r.reads[of].rows / r.reads.tables.rows,
});

/** The same joined rows as the release, read raw: `streams` COPYs, each a share of the patients. */
const rawSelects = (streams: number) =>
  Array.from(
    { length: streams },
    (_, k) => `SELECT p.nhs_number, p.birth_date, p.postcode, p.sex, e.code, e.event_date
                 FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE e.patient_id % ${streams} = ${k}`,
  );
const rawHesSelects = (streams: number) =>
  Array.from(
    { length: streams },
    (_, k) => `SELECT p.nhs_number, h.admission_date, h.diagnosis_icd10
                 FROM hes_episodes h JOIN patients p ON p.id = h.patient_id WHERE h.patient_id % ${streams} = ${k}`,
  );

async function main(): Promise<void> {
  const patients = Number(argValue('patients', '100000'));
  const per = Number(argValue('per', '10'));
  const workers = Number(argValue('workers', '2'));
  const db = await benchDatabase();
  try {
    const ds = await releaseDataset(db.url, patients, per);
    const gp = await parallelCopy(ds.url, rawSelects(2));
    const hes = await parallelCopy(ds.url, rawHesSelects(2));
    const raw = gp.seconds + hes.seconds;
    const rawCpu = gp.cpu + hes.cpu;
    const env = releaseEnvFromArgs();
    const run = await runRelease(ds.url, workers, PSEUDONYMISED, env);
    if (run.state !== 'completed') throw new Error(`release ${run.state}: ${run.failure}`);
    console.log(run.files.map((f) => `${f.name} ${f.rows} rows ${f.bytes} bytes`).join('; '));
    // The same release cut into more shards: do more shards read more? (`--spread-shards 0`: not run.)
    const spreadShards = Number(argValue('spread-shards', '8'));
    const spread = spreadShards
      ? await runRelease(ds.url, workers, PSEUDONYMISED, {
          ...env,
          RELEASE_MAX_SHARDS: String(spreadShards),
          RELEASE_SHARD_ROWS: String(Math.max(1, Math.floor((ds.gpEvents + ds.hesRows) / spreadShards / 2))),
        })
      : undefined;
    // A ~1% cohort (one condition code) of the same release.
    const cohort = await runRelease(
      ds.url,
      workers,
      { ...PSEUDONYMISED, cohort: { conditionCodes: [ds.cohortCode] }, bidId: BENCH_BID.cohortBidId },
      env,
    );
    for (const r of [spread ?? cohort, cohort])
      if (r.state !== 'completed') throw new Error(`release ${r.state}: ${r.failure}`);
    const cohortRows = cohort.files.reduce((n, f) => n + (f.name.endsWith('.csv.gz') ? f.rows : 0), 0);
    const fullRows = run.files.reduce((n, f) => n + (f.name.endsWith('.csv.gz') ? f.rows : 0), 0);
    const serial = (r: ReleaseRun) => (r.timings.prepareMs + r.timings.assembleMs) / 1000;
    const checks = (r: ReleaseRun) => r.verifySeconds + r.riskSeconds;
    report('release', raw / run.seconds, {
      release_s: run.seconds,
      raw_copy_s: raw,
      verify_s: run.verifySeconds,
      verify_share: run.verifySeconds / run.seconds,
      risk_s: run.riskSeconds,
      workers,
      shards: run.shards,
      gzip_level: env.RELEASE_GZIP_LEVEL ?? 'default',
      prepare_s: run.timings.prepareMs / 1000,
      shards_s: run.timings.shardsMs / 1000,
      assemble_s: run.timings.assembleMs / 1000,
      patients: ds.patients,
      gp_events: ds.gpEvents,
      hes_rows: ds.hesRows,
      worker_peak_rss_mb: run.workerPeakMb.map(Math.round).join('/'),
      bench_peak_rss_mb: peakRssMb(),
      // CPU-seconds the machine spent busy on each (PostgreSQL, workers, this process), and the
      // share of the cores' time that was: with both near 1, the ratio cannot exceed cpu_ratio.
      raw_cpu_s: rawCpu,
      release_cpu_s: run.cpu,
      worker_cpu_s: run.workerCpu.map(round).join('/'),
      raw_busy: busyShare(rawCpu, raw),
      release_busy: busyShare(run.cpu, run.seconds),
      cpu_ratio: rawCpu / run.cpu,
      cpu_x: run.cpu / rawCpu,
      serial_share: (serial(run) - checks(run)) / run.seconds,
      serial_share_all: serial(run) / run.seconds,
      shard_pages_x: readsX(run, 'shards').pages,
      shard_rows_x: readsX(run, 'shards').rows,
      release_pages_x: readsX(run, 'release').pages,
      release_rows_x: readsX(run, 'release').rows,
      ...(spread
        ? {
            spread_shards: spread.shards,
            spread_s: spread.seconds,
            spread_pages_x: readsX(spread, 'shards').pages,
            spread_rows_x: readsX(spread, 'shards').rows,
            spread_cpu_s: spread.cpu,
          }
        : {}),
      cohort_s: cohort.seconds,
      cohort_share: cohort.seconds / run.seconds,
      cohort_row_share: cohortRows / fullRows,
      cohort_cpu_s: cohort.cpu,
      cohort_prepare_s: cohort.timings.prepareMs / 1000,
      cohort_shards_s: cohort.timings.shardsMs / 1000,
      cohort_release_pages_x: readsX(cohort, 'release').pages,
    });
  } finally {
    await db.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
