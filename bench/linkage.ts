/**
 * Linkage benchmark: N patients and N HES rows generated in SQL (generate_series, with the
 * imperfections real data has, so that every step gets rows), then the eight-step linkage beside one
 * plain NHS-number hash join of the same tables.
 *
 *   npm run build && node dist/bench/linkage.js [--patients 1000000] [--rows 1000000] [--repeat 3] [--explain]
 *
 * Uses DATABASE_URL (a superuser URL) when set, else an embedded PostgreSQL under .data/bench-pg.
 * --reuse keeps the generated database for the next --reuse run (generation takes minutes).
 * Prints, per step, the share of rows, precision and recall against the rows' truth (the person each
 * was derived from), the HES–DID published figure beside them, and one line
 * `BENCH linkage ratio=… linkage_s=… hashjoin_s=… … precision=… recall=…` (medians over --repeat runs).
 */
import 'reflect-metadata';
import { Client } from 'pg';
import { runMigrations } from '@custodian/database';
import {
  demographicInput,
  demographicSteps,
  Exec,
  LINKAGE_RESULT,
  LINKAGE_WORK_MEM,
  nhsAnchoredSteps,
  runLinkage,
} from '@custodian/linkage';
import { benchServer } from './common';

/** The input is hes_episodes' own rows, as the re-link job's is (linkage.sql.ts `LinkageOptions`). */
const RELINK = { inputInSources: true };

/** The Type 1 digests' HMAC key (no digests are kept in the benchmark; the probe runs all the same). */
const BENCH_TYPE1_KEY = Buffer.alloc(32, 7);

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const PATIENTS = arg('patients', 1_000_000);
const ROWS = arg('rows', 1_000_000);
const REPEAT = arg('repeat', 3);
const EXPLAIN = process.argv.includes('--explain');
/** Keep the generated database (custodian_bench_linkage) and reuse it on the next run with --reuse. */
const REUSE = process.argv.includes('--reuse');

/** Deterministic pseudo-random non-negative int from (k, salt): hashint8 is stable across runs. */
const h = (k: string, salt: number) => `(hashint8((${k}) * 64 + ${salt}) & 2147483647)`;

/** A valid NHS number (Modulus 11) from a nine-digit stem expression, or NULL when the check would be 10. */
const withCheck = (stem: string) => {
  const d = (i: number) => `(ascii(substr(${stem}, ${i}, 1)) - 48)`;
  const check = `((11 - (${Array.from({ length: 9 }, (_, i) => `${d(i + 1)} * ${10 - i}`).join(' + ')}) % 11) % 11)`;
  return `CASE WHEN ${check} < 10 THEN ${stem} || ${check}::text END`;
};

/** One of ~55k postcodes, from an index: two letters, a digit, space, digit, two letters. */
const postcode = (i: string) =>
  `chr(65 + (${i}) % 26) || chr(65 + (${i}) / 26 % 26) || (1 + (${i}) / 676 % 9)::text || ' ' || (1 + (${i}) / 6084 % 9)::text || 'AB'`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

async function main(): Promise<void> {
  let stop = async () => undefined as void;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const pg = await benchServer();
    adminUrl = pg.url;
    stop = pg.stop;
  }
  const dbName = REUSE ? 'custodian_bench_linkage' : `custodian_bench_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [dbName])).rowCount;
  if (!exists) await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const sql = new Client({ connectionString: url.toString() });
  try {
    await runMigrations(url.toString());
    await sql.connect();
    const exec: Exec = async (q, p) => (await sql.query(q, p)).rows;
    const say = (s: string) => process.stdout.write(`${s}\n`);

    const [{ n: held }] = await exec(`SELECT count(*)::int AS n FROM patients`);
    if (!held) {
      const [, genS] = await timed(() => generate(exec));
      say(`generated ${PATIENTS} patients and ${ROWS} HES rows in ${genS.toFixed(1)} s`);
    } else if (held !== PATIENTS)
      throw new Error(`${dbName} holds ${held} patients; drop it or pass --patients ${held}`);

    const input = `(SELECT id, nhs_number, birth_date, sex, postcode FROM hes_episodes WHERE patient_id IS NULL)`;
    const hashJoin = `CREATE TEMP TABLE bench_hashjoin ON COMMIT DROP AS
      SELECT h.id, p.id AS patient_id FROM hes_episodes h JOIN patients p ON p.nhs_number = h.nhs_number`;
    const linkTimes: number[] = [];
    const joinTimes: number[] = [];
    let counts: Awaited<ReturnType<typeof runLinkage>> | undefined;
    let joined = 0;
    for (let i = 0; i < REPEAT; i++) {
      // Same session settings for both: the linkage transaction's work_mem.
      await exec('BEGIN');
      await exec(`SELECT set_config('work_mem', $1, true)`, [LINKAGE_WORK_MEM]);
      const [, js] = await timed(() => exec(hashJoin));
      joined = Number((await exec(`SELECT count(*)::int AS n FROM bench_hashjoin`))[0].n);
      await exec('ROLLBACK');
      joinTimes.push(js);

      await exec('BEGIN');
      await exec(`SELECT set_config('work_mem', $1, true)`, [LINKAGE_WORK_MEM]);
      const [c, ls] = await timed(() => runLinkage(exec, input, BENCH_TYPE1_KEY, RELINK));
      counts = c;
      await exec('ROLLBACK');
      linkTimes.push(ls);
      say(`run ${i + 1}: linkage ${ls.toFixed(2)} s, hash join ${js.toFixed(2)} s`);
    }

    // The relink job's write-back of the links into hes_episodes, measured once (not in the ratio).
    await exec('BEGIN');
    await exec(`SELECT set_config('work_mem', $1, true)`, [LINKAGE_WORK_MEM]);
    await runLinkage(exec, input, BENCH_TYPE1_KEY, RELINK);
    const [, writeS] = await timed(() =>
      exec(`UPDATE hes_episodes t SET patient_id = l.patient_id, linkage_step = l.step
              FROM ${LINKAGE_RESULT} l WHERE t.id = l.id AND t.patient_id IS NULL`),
    );
    // Precision per step and recall against the generator's truth (docs/LINKAGE.md).
    await exec(`ANALYZE bench_truth`);
    const truth = await exec(`
      SELECT coalesce(l.step::text, 'unlinked') AS step, count(*)::int AS rows,
             count(*) FILTER (WHERE p.nhs_number = t.true_nhs)::int AS right,
             count(*) FILTER (WHERE l.id IS NOT NULL AND p.nhs_number IS DISTINCT FROM t.true_nhs)::int AS wrong,
             count(*) FILTER (WHERE EXISTS (SELECT 1 FROM patients q WHERE q.nhs_number = t.true_nhs))::int AS held
        FROM bench_truth t
        LEFT JOIN ${LINKAGE_RESULT} l ON l.id = t.id
        LEFT JOIN patients p ON p.id = l.patient_id
       GROUP BY 1 ORDER BY 1`);
    // (ANALYZE above: without statistics the planner nested-looped 100k × 100k.)
    await exec('ROLLBACK');
    let [right, wrong, heldRows, linkedRows] = [0, 0, 0, 0];
    const perStep = truth as { step: string; rows: number; right: number; wrong: number; held: number }[];
    for (const r of perStep) {
      right += r.right;
      wrong += r.wrong;
      heldRows += r.held;
      if (r.step !== 'unlinked') linkedRows += r.rows;
    }
    const pct = (n: number, d: number) => `${((100 * n) / Math.max(1, d)).toFixed(2)}%`;
    // Per step: share of all rows, precision of its links, and its part of the recall (right links
    // at the step ÷ rows whose person is held); the parts add up to the recall.
    say('| step | rows | share | right | wrong | precision | recall (part) |\n|---|---|---|---|---|---|---|');
    for (const r of perStep)
      say(
        r.step === 'unlinked'
          ? `| unlinked | ${r.rows} | ${pct(r.rows, ROWS)} | | | | |`
          : `| ${r.step} | ${r.rows} | ${pct(r.rows, ROWS)} | ${r.right} | ${r.wrong} | ${pct(r.right, r.rows)} | ${pct(r.right, heldRows)} |`,
      );
    say(
      `| all | ${linkedRows} | ${pct(linkedRows, ROWS)} | ${right} | ${wrong} | ${pct(right, right + wrong)} | ${pct(right, heldRows)} |`,
    );
    say(
      `HES-DID (published): 97.6% of 32.3M records linked, 0.2% false matches, 4.1% missed; here: ` +
        `${pct(linkedRows, ROWS)} linked, ${pct(wrong, right + wrong)} false matches, ${pct(heldRows - right, heldRows)} of linkable rows missed (generated data)`,
    );
    const precisionLine = `precision=${((100 * right) / Math.max(1, right + wrong)).toFixed(3)}% recall=${((100 * right) / Math.max(1, heldRows)).toFixed(3)}% wrong=${wrong} linked_share=${((100 * linkedRows) / ROWS).toFixed(2)}% hesdid_linked_share=97.6%`;

    if (EXPLAIN) {
      for (const [label, q] of [
        ['hash join', hashJoin.replace(/CREATE TEMP TABLE bench_hashjoin ON COMMIT DROP AS/, '')],
        ['steps 1-5, 8', nhsAnchoredSteps(input)],
        ['steps 6-7', demographicSteps(RELINK)],
      ] as const) {
        await exec('BEGIN');
        await exec(`SELECT set_config('work_mem', $1, true)`, [LINKAGE_WORK_MEM]);
        await exec(
          `CREATE TEMP TABLE ${LINKAGE_RESULT} (id bigint NOT NULL, patient_id bigint NOT NULL, step smallint NOT NULL) ON COMMIT DROP`,
        );
        for (const prep of demographicInput(input, RELINK)) await exec(prep);
        const plan = await exec(
          `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${q}`,
          q.includes('$1') ? [BENCH_TYPE1_KEY] : [],
        );
        await exec('ROLLBACK');
        say(`--- EXPLAIN ${label}\n${plan.map((r) => r['QUERY PLAN']).join('\n')}`);
      }
    }

    const l = median(linkTimes);
    const j = median(joinTimes);
    const c = counts!;
    const stepList = Object.entries(c.linkedByStep)
      .map(([k, v]) => `step${k}=${v}`)
      .join(' ');
    const rssMb = process.resourceUsage().maxRSS / 1024;
    say(
      `BENCH linkage ratio=${(l / j).toFixed(2)} linkage_s=${l.toFixed(2)} hashjoin_s=${j.toFixed(2)} ` +
        `writeback_s=${writeS.toFixed(2)} patients=${PATIENTS} rows=${ROWS} hashjoin_rows=${joined} ` +
        `${stepList} linked=${c.linked} unlinked=${ROWS - c.linked} ${precisionLine} node_peak_rss_mb=${rssMb.toFixed(0)}`,
    );
  } finally {
    await sql.end().catch(() => undefined);
    if (!REUSE) await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await stop();
  }
}

/** Patients, then HES rows each derived from one patient with a chosen imperfection. */
async function generate(exec: Exec): Promise<void> {
  await exec(`INSERT INTO practices (ods_code, name, rollout)
              SELECT 'B' || lpad(i::text, 5, '0'), 'Bench practice ' || i, 'national' FROM generate_series(1, 200) i`);
  await exec(`INSERT INTO users (email, password_hash, display_name, roles)
              VALUES ('bench@example.org', 'x', 'Bench', ARRAY['data_manager'])`);
  // Stems 100000000 + 3k; a stem whose check digit would be 10 is dropped, so generate a few extra.
  await exec(`
    CREATE UNLOGGED TABLE bench_people AS
    SELECT row_number() OVER (ORDER BY k) AS k, nhs, dob, sex, pc FROM (
      SELECT k, ${withCheck(`(100000000 + 3 * k)::text`)} AS nhs,
             CASE WHEN ${h('k', 1)} % 100 < 3
                  THEN DATE '1895-01-01' + ${h('k', 2)} % 12775   -- 3% born 1895-1929: sparse, so sex + DOB is often unique
                  ELSE DATE '1930-01-01' + ${h('k', 2)} % 32850 END AS dob,
             CASE WHEN ${h('k', 3)} % 200 = 0 THEN 'U' WHEN ${h('k', 3)} % 2 = 0 THEN 'M' ELSE 'F' END AS sex,
             CASE WHEN ${h('k', 4)} % 200 = 0 THEN 'ZZ99 3VZ' ELSE ${postcode(`${h('k', 5)} % 54756`)} END AS pc
        FROM generate_series(1, ${Math.ceil(PATIENTS * 1.12)}) k
    ) c
    WHERE nhs IS NOT NULL
    LIMIT ${PATIENTS}`);
  await exec(`CREATE INDEX ON bench_people (k)`);
  await exec(`INSERT INTO patients (nhs_number, birth_date, sex, postcode, practice_ods, source_id)
              SELECT nhs, dob, sex, pc, 'B' || lpad((1 + k % 200)::text, 5, '0'), 'p' || k FROM bench_people`);
  const [{ id: loadId }] = await exec(
    `INSERT INTO source_loads (kind, uploaded_by) SELECT 'hes', id FROM users LIMIT 1 RETURNING id`,
  );
  // kind (per mille) → the imperfection, and the step it should land on:
  //   <780 exact (1) · <830 moved house (2) · <860 DOB day typo (3) · <880 typo + moved (4)
  //   <895 sex and DOB wrong (5) · <905 only the NHS number right (8) · <950 no NHS number (6, or
  //   unlinked when ambiguous / 1 January / ZZ99) · <970 no NHS number and moved (7 when sex + DOB
  //   is unique, else unlinked) · <990 NHS number unknown to us (unlinked) · else no NHS, sex 9 (unlinked)
  await exec(
    `
    INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, load_id)
    SELECT 'E' || r.k,
           CASE WHEN kind < 905 THEN p.nhs
                WHEN kind >= 970 AND kind < 990 THEN ${withCheck(`(700000000 + 3 * r.k)::text`)}
           END,
           CASE WHEN kind >= 830 AND kind < 880 THEN
                     CASE WHEN date_part('day', p.dob) < 28 THEN p.dob + 1 ELSE p.dob - 1 END
                WHEN kind >= 880 AND kind < 905 THEN p.dob + 400
                ELSE p.dob END,
           CASE WHEN kind >= 880 AND kind < 905 THEN CASE p.sex WHEN 'M' THEN 'F' ELSE 'M' END
                WHEN kind >= 990 THEN 'U'
                ELSE p.sex END,
           CASE WHEN (kind >= 780 AND kind < 830) OR (kind >= 860 AND kind < 880) OR (kind >= 895 AND kind < 905)
                  OR (kind >= 950 AND kind < 970)
                THEN ${postcode(`${h('r.k', 7)} % 54756`)}
                ELSE p.pc END,
           DATE '2015-01-01' + ${h('r.k', 8)} % 3000, 'I10', $1
      FROM (SELECT k, ${h('k', 9)} % 1000 AS kind, 1 + ${h('k', 10)} % ${PATIENTS} AS pk
              FROM generate_series(1, ${ROWS}) k) r
      JOIN bench_people p ON p.k = r.pk`,
    [loadId],
  );
  // Who each row really is (the person it was derived from; for rows carrying an NHS number no
  // patient holds, that number's person), for precision and recall per step.
  await exec(`
    CREATE TABLE bench_truth AS
    SELECT h.id, (CASE WHEN r.kind >= 970 AND r.kind < 990 AND h.nhs_number IS NOT NULL THEN h.nhs_number ELSE p.nhs END)::char(10) AS true_nhs
      FROM hes_episodes h
      JOIN LATERAL (SELECT substr(h.epikey, 2)::bigint AS k) e ON true
      JOIN LATERAL (SELECT ${h('e.k', 9)} % 1000 AS kind, 1 + ${h('e.k', 10)} % ${PATIENTS} AS pk) r ON true
      JOIN bench_people p ON p.k = r.pk`);
  await exec(`ALTER TABLE bench_truth ADD PRIMARY KEY (id)`);
  await exec(`ANALYZE bench_truth`);
  // Previous addresses (issue #26; patient_address_history): one patient in ten moved once, from a
  // random postcode, and half of the rows that moved house without an NHS number were recorded at an
  // address the centre held for their patient before (the rest at one it never saw).
  await exec(`
    INSERT INTO patient_address_history (patient_id, nhs_number, sex, birth_date, postcode)
    SELECT p.id, p.nhs_number, p.sex, p.birth_date, ${postcode(`${h('p.id', 11)} % 54756`)} FROM patients p
     WHERE ${h('p.id', 12)} % 10 = 0
    ON CONFLICT DO NOTHING`);
  await exec(`
    INSERT INTO patient_address_history (patient_id, nhs_number, sex, birth_date, postcode)
    SELECT DISTINCT p.id, p.nhs_number, p.sex, p.birth_date, e.postcode
      FROM hes_episodes e JOIN bench_truth t ON t.id = e.id JOIN patients p ON p.nhs_number = t.true_nhs
     WHERE e.nhs_number IS NULL AND e.postcode <> p.postcode AND e.sex = p.sex AND e.birth_date = p.birth_date
       AND ${h('e.id', 13)} % 2 = 0
    ON CONFLICT DO NOTHING`);
  await exec(`DROP TABLE bench_people`);
  await exec(`VACUUM ANALYZE patients`);
  await exec(`VACUUM ANALYZE hes_episodes`);
  await exec(`VACUUM ANALYZE patient_address_history`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
