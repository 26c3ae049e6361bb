import { createReadStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '@custodian/core';

/**
 * Linkage measured against the synthetic generator's `linkage_truth.csv` (who every HES and
 * social-care row really is): per source and step, links to the right person and to the wrong one,
 * and why the wrong ones happened. Precision = right / linked; recall = rows linked to the right
 * person / rows whose person the centre holds (a patient with the true NHS number).
 */
export interface StepTruth {
  source: string;
  /** '1'…'8', or 'unlinked'. */
  step: string;
  rows: number;
  right: number;
  wrong: number;
  /** Wrong links by whose row it really was. */
  wrongOutsider: number;
  wrongType1: number;
  wrongHeld: number;
  /** Rows whose true person is held (the recall denominator, summed over steps). */
  held: number;
  /** Links made through an NHS number taken from the row's social-care client (issue #26), and of them right. */
  fromClient: number;
  fromClientRight: number;
  /** Links to the patient the row's social-care client's other rows link to (issue #26), and of them right. */
  linkFromClient: number;
  linkFromClientRight: number;
}

export interface SourceTruth {
  source: string;
  rows: number;
  linked: number;
  right: number;
  wrong: number;
  held: number;
  /** Rows of people in the GP population the centre does not hold (Type 1 objectors) linked to anyone. */
  type1Linked: number;
  precision: number;
  recall: number;
}

/** Loads the truth file into the TEMP table `linkage_truth` of `client`'s session. */
export async function loadTruth(client: Client, truthCsv: string): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS linkage_truth`);
  await client.query(
    `CREATE TEMP TABLE linkage_truth (source text, row_key text, true_nhs char(10), in_gp int, imperfections text)`,
  );
  await pipeline(
    createReadStream(truthCsv),
    client.query(copyFrom(`COPY linkage_truth FROM STDIN (FORMAT csv, HEADER true)`)),
  );
  await client.query(`CREATE INDEX ON linkage_truth (source, row_key)`);
  await client.query(`ANALYZE linkage_truth`);
}

/** The source rows as held (their links included), keyed as the truth file keys them. */
const HELD_ROWS = `
  SELECT 'hes' AS source, h.epikey::text AS row_key, h.patient_id, h.linkage_step, false AS from_client,
         false AS link_from_client
    FROM hes_episodes h
  UNION ALL
  SELECT 'social_care', s.la_code || '/' || s.person_id || '/' || to_char(s.start_date, 'YYYY-MM-DD'),
         s.patient_id, s.linkage_step, s.nhs_number_from_client, s.link_from_client
    FROM social_care_records s`;

/** Per source and step, against the truth (call `loadTruth` first, on the same session). */
export async function measureTruth(client: Client): Promise<{ steps: StepTruth[]; sources: SourceTruth[] }> {
  const { rows } = await client.query(`
    SELECT r.source, coalesce(r.linkage_step::text, 'unlinked') AS step,
           count(*)::int AS rows,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND p.nhs_number = t.true_nhs)::int AS right,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND p.nhs_number IS DISTINCT FROM t.true_nhs)::int AS wrong,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND p.nhs_number IS DISTINCT FROM t.true_nhs
                              AND t.in_gp = 0)::int AS wrong_outsider,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND p.nhs_number IS DISTINCT FROM t.true_nhs
                              AND t.in_gp = 1 AND tp.id IS NULL)::int AS wrong_type1,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND p.nhs_number IS DISTINCT FROM t.true_nhs
                              AND tp.id IS NOT NULL)::int AS wrong_held,
           count(*) FILTER (WHERE tp.id IS NOT NULL)::int AS held,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND r.from_client)::int AS from_client,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND r.from_client AND p.nhs_number = t.true_nhs)::int
             AS from_client_right,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND r.link_from_client)::int AS link_from_client,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND r.link_from_client AND p.nhs_number = t.true_nhs)::int
             AS link_from_client_right,
           count(*) FILTER (WHERE r.patient_id IS NOT NULL AND t.in_gp = 1 AND tp.id IS NULL)::int AS type1_linked
      FROM (${HELD_ROWS}) r
      JOIN linkage_truth t ON t.source = r.source AND t.row_key = r.row_key
      LEFT JOIN patients p ON p.id = r.patient_id
      LEFT JOIN patients tp ON tp.nhs_number = t.true_nhs
     GROUP BY 1, 2 ORDER BY 1, 2`);
  const steps: StepTruth[] = rows.map((r) => ({
    source: r.source,
    step: r.step,
    rows: r.rows,
    right: r.right,
    wrong: r.wrong,
    wrongOutsider: r.wrong_outsider,
    wrongType1: r.wrong_type1,
    wrongHeld: r.wrong_held,
    held: r.held,
    fromClient: r.from_client,
    fromClientRight: r.from_client_right,
    linkFromClient: r.link_from_client,
    linkFromClientRight: r.link_from_client_right,
  }));
  // Rows of people in the GP population the centre does not hold (Type 1 objectors) that are linked:
  // counted in the same pass (a second join of the truth took minutes at 1M).
  const t1 = rows.map((r) => ({ source: r.source as string, n: r.type1_linked as number }));
  const sources: SourceTruth[] = [];
  for (const source of [...new Set(steps.map((s) => s.source)), 'all']) {
    const mine = steps.filter((s) => source === 'all' || s.source === source);
    const linked = mine.filter((s) => s.step !== 'unlinked');
    const sum = (xs: StepTruth[], f: (s: StepTruth) => number) => xs.reduce((a, s) => a + f(s), 0);
    const right = sum(linked, (s) => s.right);
    const wrong = sum(linked, (s) => s.wrong);
    const held = sum(mine, (s) => s.held);
    sources.push({
      source,
      rows: sum(mine, (s) => s.rows),
      linked: right + wrong,
      right,
      wrong,
      held,
      type1Linked: t1.filter((r) => source === 'all' || r.source === source).reduce((a, r) => a + r.n, 0),
      precision: right + wrong ? right / (right + wrong) : 1,
      recall: held ? right / held : 1,
    });
  }
  return { steps, sources };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/**
 * The measurement as Markdown tables (what docs/LINKAGE.md shows): per source and step, the share of
 * the source's rows, precision, and the step's part of the recall (right links at the step ÷ rows
 * whose person is held; the parts add up to the recall); one `TRUTH` line per source; and the
 * HES–DID published figure beside ours.
 */
export function formatTruth(m: { steps: StepTruth[]; sources: SourceTruth[] }): string {
  const out: string[] = [];
  for (const src of m.sources.filter((s) => s.source !== 'all')) {
    out.push(`\n${src.source}: share, precision and recall per step against linkage_truth.csv`);
    out.push(
      '| step | rows | share | right | wrong | precision | recall (part) | wrong: outsider | wrong: Type 1 | wrong: held person | NHS number from the client (right) | link from the client (right) |',
    );
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of m.steps.filter((x) => x.source === src.source && x.step !== 'unlinked'))
      out.push(
        `| ${s.step} | ${s.rows} | ${pct(s.rows / src.rows)} | ${s.right} | ${s.wrong} | ${pct(s.right / s.rows)} | ${pct(src.held ? s.right / src.held : 0)} | ${s.wrongOutsider} | ${s.wrongType1} | ${s.wrongHeld} | ${s.fromClient} (${s.fromClientRight}) | ${s.linkFromClient} (${s.linkFromClientRight}) |`,
      );
    const un = m.steps.find((x) => x.source === src.source && x.step === 'unlinked');
    out.push(`| unlinked | ${un?.rows ?? 0} | ${pct((un?.rows ?? 0) / src.rows)} | | | | | | | | | |`);
    out.push(
      `| all | ${src.linked} | ${pct(src.linked / src.rows)} | ${src.right} | ${src.wrong} | ${pct(src.precision)} | ${pct(src.recall)} | | | | | |`,
    );
  }
  out.push('');
  for (const s of m.sources)
    out.push(
      `TRUTH ${s.source} rows=${s.rows} linked=${s.linked} right=${s.right} wrong=${s.wrong} ` +
        `precision=${pct(s.precision)} held=${s.held} recall=${pct(s.recall)} type1_linked=${s.type1Linked}`,
    );
  const all = m.sources.find((s) => s.source === 'all');
  if (all)
    out.push(
      `HES-DID (published): 97.6% of 32.3M records linked, 0.2% false matches, 4.1% missed; here: ` +
        `${pct(all.linked / all.rows)} linked, ${pct(all.linked ? all.wrong / all.linked : 0)} false matches, ` +
        `${pct(all.held ? 1 - all.right / all.held : 0)} of held people's rows missed (synthetic data)`,
    );
  return out.join('\n');
}

/**
 * The API's configuration for the synthetic linkage runs: one definition for the run and for the
 * re-link of a kept database, whose Type 1 digests are keyed with this pseudonym secret.
 */
export function syntheticLinkageConfig(prefix: string) {
  return loadConfig({
    NODE_ENV: 'test',
    CUSTODIAN_STATE_DIR: mkdtempSync(path.join(tmpdir(), prefix)),
    JWT_SECRET: 'j'.repeat(40),
    PSEUDONYM_KEY_SECRET: 'p'.repeat(40),
    LOG_LEVEL: 'warn',
    RUN_WORKER: 'false',
  });
}
