/**
 * `release`: a pseudonymised GP + HES release (shards, gzip, SHA-256, manifest) built by two worker
 * processes, beside a raw COPY of the same joined rows to /dev/null over two parallel streams (the
 * machine's limit for reading those rows). ratio = raw COPY seconds / release seconds, i.e. the
 * release's throughput as a share of the raw COPY's (target ≥ 0.75). `verify_share` is the
 * independent verifier's time as a share of the release's (target ≤ 0.15).
 *
 *   npm run bench -- --only release [--scale large]
 *   node dist/bench/release.js --patients 1000000 --per 10 [--workers 2]   (DATABASE_URL or embedded)
 */
import 'reflect-metadata';
import { argValue, benchDatabase, busyShare, peakRssMb, report, round } from './common';
import { releaseDataset } from './dataset';
import { parallelCopy, PSEUDONYMISED, releaseEnvFromArgs, runRelease } from './release-run';

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
    report('release', raw / run.seconds, {
      release_s: run.seconds,
      raw_copy_s: raw,
      verify_s: run.verifySeconds,
      verify_share: run.verifySeconds / run.seconds,
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
    });
  } finally {
    await db.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
