import { Client } from 'pg';
import { createApiApp } from '../apps/api/src/bootstrap';
import { runMigrations } from '@custodian/database';
import { LinkageService } from '../libs/linkage/src/linkage.service';
import { argValue, timed } from './common';
import { formatTruth, measureTruth, syntheticLinkageConfig } from './linkage-truth';

/**
 * Re-measures a database that `synthetic-linkage.js --keep` left (its `kept_linkage_truth`) after a
 * change of the linkage rule: migrates it, runs the re-link job as the worker runs it (every unlinked
 * row and every row without an NHS number of both sources, against today's rule) and prints the
 * truth tables again — so a rule change is measured on the same 1M population without generating
 * and ingesting it again (about an hour on the shared machine).
 * `node dist/bench/synthetic-linkage-relink.js --db postgres://…/synthlink_… [--no-truth]`
 */
async function main(): Promise<void> {
  const url = argValue('db');
  if (!url) throw new Error('--db <url of a kept synthetic-linkage database> is required');
  await runMigrations(url);
  const config = syntheticLinkageConfig('slr-');
  const app = await createApiApp(config, url);
  try {
    const r = await timed(() => app.get(LinkageService).relink());
    console.log(`re-link in ${r.seconds.toFixed(1)} s: ${JSON.stringify(r.value)}`);
    // --no-truth: time the re-link only (the truth tables take minutes at 1M).
    if (process.argv.includes('--no-truth')) return;
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`CREATE TEMP TABLE linkage_truth AS SELECT * FROM kept_linkage_truth`);
      await c.query(`CREATE INDEX ON linkage_truth (source, row_key)`);
      await c.query(`ANALYZE linkage_truth`);
      console.log(formatTruth(await measureTruth(c)));
    } finally {
      await c.end();
    }
  } finally {
    await app.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
