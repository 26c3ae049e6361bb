/**
 * `anonymise`: the anonymised tier on a whole population — k-anonymity (k = 10) over age, sex,
 * ethnicity and area with the generalisation lattice, suppression, random person tokens, and
 * kᵐ-anonymity (m = 2) over the GP events' (code, period) items (`--events no`: the per-person
 * file only, as before issue #27) — built by two worker processes, beside a raw COPY of the same persons'
 * quasi-identifiers (no generalisation) to /dev/null. ratio = raw COPY seconds / anonymised
 * release seconds. Target: 1M patients in ≤ 15 s (ARX needs 63–66 s for k-anonymity on its
 * 1.19M-row IHIS benchmark data set). `verify_s` is the independent verification inside the
 * release (the manifest's `verification.ms`), `verify_share` its share of the release (#19's
 * target ≤ 0.15).
 *
 *   node dist/bench/anonymise.js --patients 1000000 --per 10 [--hes]
 *
 * `--hes` adds a HES file of a row per episode with `provider_code`, a location quasi-identifier
 * (k-anonymity over the person's quasi-identifiers and the provider, per person-provider pair).
 */
import 'reflect-metadata';
import { argValue, benchDatabase, peakRssMb, report, sql } from './common';
import { releaseDataset } from './dataset';
import { parallelCopy, releaseEnvFromArgs, runRelease } from './release-run';

async function main(): Promise<void> {
  const patients = Number(argValue('patients', '100000'));
  const per = Number(argValue('per', '10'));
  const hes = process.argv.includes('--hes');
  const events = argValue('events', 'yes') !== 'no';
  const db = await benchDatabase();
  try {
    const ds = await releaseDataset(db.url, patients, per);
    const { seconds: raw } = await parallelCopy(ds.url, [
      `SELECT nhs_number, birth_date, sex, ethnicity, postcode FROM patients`,
    ]);
    const run = await runRelease(
      ds.url,
      2,
      {
        tier: 'anonymised',
        legalBasis: 's251',
        datasets: [
          {
            dataset: 'gp',
            fields: [
              'nhs_number',
              'date_of_birth',
              'sex',
              'ethnicity',
              'postcode',
              ...(events ? ['code_system', 'code', 'event_date'] : []),
            ],
          },
          // --hes: also a HES file of a row per episode with its provider (a location quasi-identifier)
          ...(hes
            ? [
                {
                  dataset: 'hes' as const,
                  fields: [
                    'nhs_number',
                    'date_of_birth',
                    'sex',
                    'postcode',
                    'admission_date',
                    'provider_code',
                  ],
                },
              ]
            : []),
        ],
      },
      releaseEnvFromArgs(),
    );
    if (run.state !== 'completed') throw new Error(`release ${run.state}: ${run.failure}`);
    console.log(run.files.map((f) => `${f.name} ${f.rows} rows ${f.bytes} bytes`).join('; '));
    // The levels chosen and the exact suppression (staff figures), of the release just run.
    const [chosen] = await sql<{ levels: Record<string, string>; exact: Record<string, unknown> }>(
      ds.url,
      `SELECT manifest -> 'kAnonymity' -> 'levels' AS levels, excluded -> 'kAnonymity' AS exact
         FROM releases WHERE state = 'completed' ORDER BY completed_at DESC LIMIT 1`,
    );
    console.log(`levels ${JSON.stringify(chosen?.levels)}; suppressed ${JSON.stringify(chosen?.exact)}`);
    // Utility lost to kᵐ-anonymity: the share of event rows removed with their item, released
    // generalised (code or period coarser than as held / year-month), and dates kept per period level.
    const km = run.excluded?.kmAnonymity as
      | {
          rowsByFile: Record<string, number>;
          suppressedByFile: Record<string, number>;
          generalisedByFile: Record<string, number>;
          periodRows: Record<string, number>;
          classesByNode: Record<string, number>;
          passes: number;
        }
      | undefined;
    const share = (n?: number) => (km?.rowsByFile.gp ? (n ?? 0) / km.rowsByFile.gp : 0);
    const kept = km ? Object.values(km.periodRows).reduce((a, b) => a + b, 0) : 0;
    const periodShare = (p: string) => (kept ? (km!.periodRows[p] ?? 0) / kept : 0);
    if (km) console.log(`kᵐ classes per node ${JSON.stringify(km.classesByNode)}; passes ${km.passes}`);
    report('anonymise', raw / run.seconds, {
      anonymise_s: run.seconds,
      target_s: 15 * (ds.patients / 1_000_000),
      raw_copy_s: raw,
      prepare_s: run.timings.prepareMs / 1000,
      shards_s: run.timings.shardsMs / 1000,
      verify_s: run.verifySeconds,
      verify_share: run.verifySeconds / run.seconds,
      patients: ds.patients,
      rows_out: run.files.find((f) => f.name === 'gp.csv.gz')?.rows ?? 0,
      hes_rows_out: run.files.find((f) => f.name === 'hes.csv.gz')?.rows ?? 0,
      km_rows_suppressed_share: share(km?.suppressedByFile.gp),
      km_rows_generalised_share: share(km?.generalisedByFile.gp),
      km_dates_year_month_share: periodShare('year_month'),
      km_dates_year_share: periodShare('year'),
      km_dates_none_share: periodShare('none'),
      worker_peak_rss_mb: run.workerPeakMb.map(Math.round).join('/'),
      bench_peak_rss_mb: peakRssMb(),
    });
  } finally {
    await db.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
