/**
 * `scale-out`: the same pseudonymised release (GP + HES) built by one worker process and then by
 * two, on the same data. ratio = one-worker seconds / two-worker seconds (target ≥ 1.5 on this
 * 2-core machine, where PostgreSQL shares the same cores).
 *
 *   node dist/bench/scale-out.js --patients 1000000 --per 10
 */
import 'reflect-metadata';
import { argValue, benchDatabase, busyShare, report } from './common';
import { releaseDataset } from './dataset';
import { PSEUDONYMISED, releaseEnvFromArgs, runRelease } from './release-run';

async function main(): Promise<void> {
  const patients = Number(argValue('patients', '100000'));
  const per = Number(argValue('per', '10'));
  const db = await benchDatabase();
  try {
    const ds = await releaseDataset(db.url, patients, per);
    const one = await runRelease(ds.url, 1, PSEUDONYMISED, releaseEnvFromArgs());
    const two = await runRelease(ds.url, 2, PSEUDONYMISED, releaseEnvFromArgs());
    for (const r of [one, two])
      if (r.state !== 'completed') throw new Error(`release ${r.state}: ${r.failure}`);
    report('scale-out', one.seconds / two.seconds, {
      one_worker_s: one.seconds,
      two_workers_s: two.seconds,
      shards: two.shards,
      one_shards_s: one.timings.shardsMs / 1000,
      two_shards_s: two.timings.shardsMs / 1000,
      prepare_s: two.timings.prepareMs / 1000,
      patients: ds.patients,
      gp_events: ds.gpEvents,
      worker_peak_rss_mb: [...one.workerPeakMb, ...two.workerPeakMb].map(Math.round).join('/'),
      // The share of the cores' time each run kept busy: near 1 with one worker already, a second
      // worker has no idle core to use.
      one_busy: busyShare(one.cpu, one.seconds),
      two_busy: busyShare(two.cpu, two.seconds),
      one_cpu_s: one.cpu,
      two_cpu_s: two.cpu,
    });
  } finally {
    await db.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
