/**
 * `aggregate`: the aggregate tier on a whole population — distinct persons by `year` × `code` of the
 * GP events (per-event dimensions) and by `sex` × `age_band`, the minimum population with its keyed
 * margin, values under it left out (iterated), every cell of the cross-product, disclosure control,
 * the differencing guard and the verifier's own recount — beside the bare statement (the same
 * distinct-person counts, one `GROUP BY` over the events, to /dev/null). ratio = bare seconds /
 * release seconds, per table.
 *
 *   node dist/bench/aggregate.js --patients 100000 --per 10
 */
import 'reflect-metadata';
import type { ReleaseSpec } from '@custodian/release';
import { argValue, benchDatabase, report } from './common';
import { releaseDataset } from './dataset';
import { parallelCopy, releaseEnvFromArgs, runRelease } from './release-run';

async function main(): Promise<void> {
  const patients = Number(argValue('patients', '100000'));
  const per = Number(argValue('per', '10'));
  const db = await benchDatabase();
  try {
    const ds = await releaseDataset(db.url, patients, per);
    const tables: { name: string; dimensions: string[]; bare: string }[] = [
      {
        name: 'year_code',
        dimensions: ['year', 'code'],
        bare: `SELECT extract(year FROM e.event_date), e.code, count(DISTINCT e.patient_id) FROM gp_events e GROUP BY 1, 2`,
      },
      {
        name: 'sex_age',
        dimensions: ['sex', 'age_band'],
        bare: `SELECT p.sex, date_part('year', age(p.birth_date))::int / 5, count(DISTINCT p.id)
                 FROM gp_events e JOIN patients p ON p.id = e.patient_id GROUP BY 1, 2`,
      },
    ];
    for (const t of tables) {
      const { seconds: bare } = await parallelCopy(ds.url, [t.bare]);
      const run = await runRelease(
        ds.url,
        2,
        {
          tier: 'aggregate',
          legalBasis: 'none',
          datasets: [{ dataset: 'gp', fields: ['code'] }],
          aggregation: { dimensions: t.dimensions },
        } as Pick<ReleaseSpec, 'tier' | 'legalBasis' | 'datasets'>,
        releaseEnvFromArgs(),
      );
      if (run.state !== 'completed') throw new Error(`release ${run.state}: ${run.failure}`);
      console.log(run.files.map((f) => `${f.name} ${f.rows} rows ${f.bytes} bytes`).join('; '));
      report(`aggregate_${t.name}`, bare / run.seconds, {
        release_s: +run.seconds.toFixed(2),
        prepare_s: +(run.timings.prepareMs / 1000).toFixed(2),
        verify_s: +run.verifySeconds.toFixed(2),
        bare_s: +bare.toFixed(2),
        patients,
        per,
      });
    }
  } finally {
    await db.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
