import { HES_EPISODES_SOURCE } from '@custodian/linkage';
import { GP_EVENTS_SOURCE, PATIENTS_SOURCE } from '@custodian/practices';
import { consentCohortOf } from '@custodian/bids';
import { Dataset } from '@custodian/catalog';
import { objectionsAsOf } from '@custodian/objections';
import { FILE_BIT, gpCounts, orderKey, sourcePresence, DATASET_SQL } from '../release-sql';
import { objectionPolicy } from '../release-spec';
import { ClaimedRelease, EngineContext, Query, rangeOf, workTables } from './context';

/**
 * Cohort stage, the first statements of the preparation's snapshot transaction: the objection
 * snapshot (`rel_obj`, `rel_blocked`), then the working set — one row per person, with why they
 * are left out, the tier's person identifier, the base quasi-identifiers and the files they are
 * in — committed with the preparation to `release_work` and seen as `rp` by the stages after it.
 */
export async function buildCohort(
  ctx: EngineContext,
  q: Query,
  rel: ClaimedRelease,
  policy: ReturnType<typeof objectionPolicy>,
  recordLevel: boolean,
  bidKey: Buffer | undefined,
): Promise<void> {
  const spec = rel.spec;
  const datasets = spec.datasets.map((d) => d.dataset);
  const asOf = rel.snapshot_at.toISOString().slice(0, 10);
  // The working set lives in unlogged tables (shared buffers, parallel scans, visible to the
  // shards once committed); temp views give them the short names the SQL pieces use.
  const work = workTables(rel.id);
  const range = rangeOf(spec);

  // 1. Objection snapshot, as the register stood at this attempt's instant (recorded on the row).
  await q(
    `CREATE TEMP TABLE rel_obj ON COMMIT DROP AS SELECT nhs_number AS nhs, type FROM (${objectionsAsOf('$1::timestamptz')}) o`,
    [rel.snapshotCut],
  );
  await q(`CREATE UNLOGGED TABLE ${work.blocked} (nhs char(10) PRIMARY KEY, reason text NOT NULL)`);
  await q(`CREATE TEMP VIEW rel_blocked AS SELECT * FROM ${work.blocked}`);
  await q(
    `INSERT INTO rel_blocked
     SELECT nhs, CASE WHEN bool_or(type = 'type1') THEN 'type1_objection' ELSE 'type2_objection' END
       FROM rel_obj WHERE (type = 'type1' AND $1) OR (type = 'type2' AND $2) GROUP BY nhs`,
    [policy.excludeType1, policy.excludeType2],
  );

  // 2. The cohort: one row per person (GP patients, and NHS numbers of unlinked source rows).
  const sources = datasets.filter((d) => d !== 'gp') as Exclude<Dataset, 'gp'>[];
  const sourceRows = sources
    .map(
      (d) =>
        `SELECT nhs_number, birth_date, sex, postcode FROM ${DATASET_SQL[d].table} WHERE patient_id IS NULL AND nhs_number IS NOT NULL`,
    )
    .join(' UNION ALL ');
  const c = spec.cohort;
  // Who has rows in each file (`files`): k-anonymity's classes per file, the per-person files, and
  // the differencing guard, which compares the persons the files show (release-ledger.ts): every
  // record-level release.
  const needPresence = recordLevel;
  const gp = datasets.includes('gp');
  // GP rows per patient (presence and the GP row counts); for the other datasets, who has rows.
  // Scratch tables of this transaction only, unlogged rather than temporary: a temp table in a
  // query keeps it from running in parallel (the person table's statement is 1M HMACs).
  const scratch = {
    gp: `${work.rp}_gp`,
    hes: `${work.rp}_hes`,
    social_care: `${work.rp}_social_care`,
    cand: `${work.rp}_cand`,
  };
  // Cohort first (issue #22): a cohort narrowed by practice or condition code finds its patients
  // through the indexes (`patients (practice_ods, …)`, `gp_events (code)`, `hes_episodes
  // (diagnosis_icd10)`), and the per-patient counts and presence below read only their rows, so a
  // 1% cohort costs about 1% of a whole release instead of a pass over every event. The person
  // table's own WHERE below still applies every filter; this only narrows what it starts from.
  const narrow = Boolean(c.practices?.length || c.conditionCodes?.length);
  if (narrow) {
    await q(
      `CREATE UNLOGGED TABLE ${scratch.cand} AS
       SELECT p.id AS patient_id FROM ${PATIENTS_SOURCE} p
        WHERE ($1::text[] IS NULL OR p.practice_ods = ANY($1::text[]))
          AND ($2::text[] IS NULL OR p.id IN (
                SELECT e.patient_id FROM ${GP_EVENTS_SOURCE} e WHERE e.code = ANY($2::text[])
                UNION
                SELECT h.patient_id FROM ${HES_EPISODES_SOURCE} h WHERE h.diagnosis_icd10 = ANY($2::text[]) AND h.patient_id IS NOT NULL
                UNION
                SELECT pn.id FROM ${HES_EPISODES_SOURCE} h JOIN ${PATIENTS_SOURCE} pn ON pn.nhs_number = h.nhs_number
                 WHERE h.diagnosis_icd10 = ANY($2::text[])))`,
      [c.practices ?? null, c.conditionCodes ?? null],
    );
    await q(`CREATE UNIQUE INDEX ON ${scratch.cand} (patient_id)`);
    await q(`ANALYZE ${scratch.cand}`);
  }
  const cand = narrow ? scratch.cand : undefined;
  // Passing rows between processes priced lower, until the person table is built: the planner
  // does not see that each person costs an HMAC and a few string functions, and keeps that
  // statement on one process otherwise (and the GP counts' index-only scan too).
  await q(`SET LOCAL parallel_tuple_cost = 0.001`);
  if (gp) {
    // With no date range the counts need only the patient ids, which the (patient_id, …) unique
    // index holds in order: counted group by group in a parallel index-only scan rather than by
    // hashing every event, which the planner prefers because it underestimates the patients
    // (docs/BENCHMARKS.md, "Measurements behind the code"). With a range the dates are in the heap.
    // A narrowed cohort's counts are index lookups of its patients' events.
    const open = !range.from && !range.to && !cand;
    const plan = ['enable_hashagg', 'enable_seqscan'];
    if (open) for (const p of plan) await q(`SET LOCAL ${p} = off`);
    await q(gpCounts(scratch.gp, range, cand));
    if (open) for (const p of plan) await q(`SET LOCAL ${p} TO DEFAULT`);
  }
  const present = needPresence ? sources : [];
  for (const d of present) await q(sourcePresence(scratch[d], d, range, cand));
  const files =
    [
      ...(needPresence && gp ? [`CASE WHEN gc.n IS NOT NULL THEN ${FILE_BIT.gp} ELSE 0 END`] : []),
      ...present.map((d) => `CASE WHEN h_${d}.nhs IS NOT NULL THEN ${FILE_BIT[d]} ELSE 0 END`),
    ].join(' + ') || '0';
  // 6 (done with the cohort, once per person). The tier's person identifier: pseudonymised
  // HMAC-SHA256(bid key, NHS number); anonymised HMAC under the release's random seed, truncated
  // to 128 bits (a random token, the same on a retry); identifiable the NHS number. Keys are
  // bound parameters only.
  const idKey =
    spec.tier === 'pseudonymised'
      ? bidKey
      : spec.tier === 'anonymised'
        ? ctx.keys.open(rel.token_seed_enc, `release:${rel.id}`)
        : undefined;
  // 3 (in the same statement). Who is left out, and why: outside the consent cohort first, then
  // objections.
  // A consent cohort never applies at the aggregate tier (SPEC §5 step 2): it would make a count
  // of the cohort a membership oracle.
  const consentOnly = recordLevel && Boolean(policy.consentOnly || spec.consentCohort);
  // Only what the tier can release is copied into the working set (date of birth and postcode
  // for the identifiable tier, birth year-month for the pseudonymised).
  const keep = (tier: boolean, expr: string, type: string) => (tier ? expr : `NULL::${type}`);
  // CREATE TABLE … AS (PostgreSQL may scan and hash in parallel; INSERT … SELECT never does).
  // Narrow on purpose: no row number (a sort of every person), no lookups (the postcode area,
  // region and ethnic group derive from district and category where used): every row of this
  // statement passes through the leader, so each column costs (docs/BENCHMARKS.md).
  // nhs, nk, patient_id, birth_date, sex, postcode, ethnicity, practice_ods, a5, district, eth,
  // excl, gp_n, files, pid, bym, okey. (OFFSET 0 keeps the inner query a subquery: pulled up, its
  // HMAC would be computed twice, once for pid and once inside okey.)
  await q(
    `CREATE UNLOGGED TABLE ${work.rp} AS
     WITH persons AS (
       SELECT p.nhs_number AS nhs, p.id AS patient_id, p.birth_date, p.sex, p.postcode, p.ethnicity, p.practice_ods
         FROM ${PATIENTS_SOURCE} p${cand ? ` WHERE p.id IN (SELECT k.patient_id FROM ${cand} k)` : ''}
       ${
         // A practice cohort has no place for persons known only from source rows (no practice).
         sourceRows && !c.practices?.length
           ? `UNION ALL
       (SELECT DISTINCT ON (s.nhs_number) s.nhs_number, NULL::bigint, s.birth_date, s.sex, s.postcode, NULL::char(1), NULL::char(6)
         FROM (${sourceRows}) s
        WHERE NOT EXISTS (SELECT 1 FROM ${PATIENTS_SOURCE} p WHERE p.nhs_number = s.nhs_number)
        ORDER BY s.nhs_number, s.birth_date NULLS LAST, s.sex, s.postcode NULLS LAST)`
           : ''
       }
     ), aged AS (
       SELECT x.*, date_part('year', age($1::date, x.birth_date))::int AS age FROM persons x
     )
     SELECT s.*, ${orderKey(spec.tier, 's.nhs', 's.pid')} AS okey FROM (
     SELECT x.nhs, ${
       // The NHS number as a number, for the differencing ledger (record-level tiers); NULL if it
       // is not ten digits, which that guard refuses (release-ledger.ts).
       recordLevel ? `CASE WHEN x.nhs ~ '^[0-9]{10}$' THEN x.nhs::bigint END` : 'NULL::bigint'
     } AS nk, x.patient_id, ${keep(spec.tier === 'identifiable', 'x.birth_date', 'date')} AS birth_date, x.sex,
            ${keep(spec.tier === 'identifiable', 'x.postcode', 'varchar')} AS postcode, x.ethnicity,
            ${keep(spec.tier !== 'anonymised', 'x.practice_ods', 'char(6)')} AS practice_ods, (x.age / 5) * 5 AS a5,
            CASE WHEN x.postcode IS NULL THEN 'unknown' ELSE left(replace(x.postcode, ' ', ''), -3) END AS district,
            coalesce(x.ethnicity, 'Z') AS eth,
            CASE WHEN $9::boolean AND NOT x.nhs IN (${consentCohortOf('$10')})
                 THEN 'not_in_consent_cohort' ELSE bl.reason END AS excl,
            ${gp ? 'gc.n' : 'NULL::bigint'} AS gp_n, (${files})::int AS files,
            (CASE WHEN $7::bytea IS NULL THEN x.nhs::text
                  ELSE left(encode(hmac(convert_to(x.nhs, 'UTF8'), $7::bytea, 'sha256'), 'hex'), $8::int) END) COLLATE "C" AS pid,
            ${keep(spec.tier === 'pseudonymised', "to_char(x.birth_date, 'YYYY-MM')", 'text')} AS bym
       FROM aged x
       LEFT JOIN ${work.blocked} bl ON bl.nhs = x.nhs
       ${gp ? `LEFT JOIN ${scratch.gp} gc ON gc.patient_id = x.patient_id` : ''}
       ${present.map((d) => `LEFT JOIN ${scratch[d]} h_${d} ON h_${d}.nhs = x.nhs`).join('\n         ')}
      WHERE ($2::text[] IS NULL OR x.practice_ods = ANY($2::text[]))
        AND ($3::text[] IS NULL OR substring(x.postcode from '^[A-Z]+') = ANY($3::text[]))
        AND ($4::int IS NULL OR x.age >= $4::int)
        AND ($5::int IS NULL OR x.age <= $5::int)
        AND ($6::text[] IS NULL
             OR EXISTS (SELECT 1 FROM ${GP_EVENTS_SOURCE} e WHERE e.patient_id = x.patient_id AND e.code = ANY($6::text[]))
             OR EXISTS (SELECT 1 FROM ${HES_EPISODES_SOURCE} h WHERE h.nhs_number = x.nhs AND h.diagnosis_icd10 = ANY($6::text[]))
             OR EXISTS (SELECT 1 FROM ${HES_EPISODES_SOURCE} h WHERE h.patient_id = x.patient_id AND h.diagnosis_icd10 = ANY($6::text[])
                          -- An objector's own row linked to this patient selects no one: it is
                          -- counted nowhere and released nowhere (SPEC §5 step 2).
                          AND NOT EXISTS (SELECT 1 FROM ${work.blocked} ob WHERE ob.nhs = h.nhs_number)))
     OFFSET 0) s`,
    [
      asOf,
      c.practices ?? null,
      c.postcodeAreas?.map((a) => a.toUpperCase()) ?? null,
      c.ageMin ?? null,
      c.ageMax ?? null,
      c.conditionCodes ?? null,
      idKey ?? null,
      spec.tier === 'anonymised' ? 32 : 64,
      consentOnly,
      rel.bid_id,
    ],
  );
  idKey?.fill(0);
  await q(`SET LOCAL parallel_tuple_cost TO DEFAULT`);
  await q(`DROP TABLE IF EXISTS ${Object.values(scratch).join(', ')}`);
  // Statistics for the plans that read it (the base cells' aggregate, the shards' slices): the
  // columns they join, filter and group on.
  await q(`ANALYZE ${work.rp} (nhs, nk, patient_id, excl, files, a5, sex, eth, district, okey)`);
  await q(`CREATE TEMP VIEW rp AS SELECT * FROM ${work.rp}`);
}
