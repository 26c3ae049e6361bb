import { PATIENTS_SOURCE } from '@custodian/practices';

/**
 * The verifier's own reading of the database (STYLE rule 17): who may not be in a release, written
 * from the SPEC and the tables, not from the engine's cohort or exclusion SQL (nor the
 * `objections_as_of` function it calls).
 */
export interface VerifierDb {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Active objections at the snapshot, as SQL (`cut`, `types`: SQL expressions, a timestamptz and a
 * text[]): per NHS number and type, among the events recorded by then, a registration that no
 * withdrawal cancels — one of a strictly later instant (`effective_at`) by the practice that
 * recorded it, or by a practice that held the patient from before it was recorded (`holder_since`,
 * SPEC §2's withdrawal authority) — and every NHS number within two steps of such a number through
 * the pairs practices' records gave by then (`nhs_number_aliases`, both ways: the numbers of the
 * records carrying it, then of the records sharing one of those — review-28, review-30). One
 * column, `nhs`.
 */
export const activeObjections = (cut: string, types: string) =>
  `WITH objector AS (SELECT DISTINCT r.nhs_number AS nhs
       FROM objection_events r
      WHERE r.action = 'register' AND r.recorded_at <= ${cut} AND r.type = ANY(${types})
        -- SPEC §2: the latest instant wins, and on an exact tie the objection beats the withdrawal:
        -- a registration stands unless a withdrawal of the same type is strictly later.
        AND NOT EXISTS (
          SELECT 1 FROM objection_events later
           WHERE later.nhs_number = r.nhs_number AND later.type = r.type AND later.recorded_at <= ${cut}
             AND later.action = 'withdraw' AND later.effective_at > r.effective_at
             -- one its practice's later extract retracted cancels nothing from then on
             AND (later.retracted_at IS NULL OR later.retracted_at > ${cut})
             -- a withdrawal withdraws only what its practice may: its own, or what was recorded
             -- while it held the patient
             AND (later.practice_ods IS NOT DISTINCT FROM r.practice_ods OR later.holder_since <= r.recorded_at)))
   , beside AS (SELECT a.alias AS nhs FROM nhs_number_aliases a
       WHERE a.nhs_number IN (SELECT nhs FROM objector) AND a.recorded_at <= ${cut}
         AND (a.retracted_at IS NULL OR a.retracted_at > ${cut}))
   SELECT nhs FROM objector
   UNION SELECT nhs FROM beside
   UNION SELECT further.alias FROM nhs_number_aliases further
    WHERE further.nhs_number IN (SELECT nhs FROM beside) AND further.recorded_at <= ${cut}
      AND (further.retracted_at IS NULL OR further.retracted_at > ${cut})`;

/** The NHS numbers of `activeObjections` at the snapshot. */
export async function objectorsAt(
  db: VerifierDb,
  snapshotAt: string,
  types: ('type1' | 'type2')[],
): Promise<string[]> {
  if (!types.length) return [];
  const rows = (await db.query(activeObjections('$1::timestamptz', '$2::text[]'), [snapshotAt, types])) as {
    nhs: string;
  }[];
  return rows.map((r) => r.nhs.trim());
}

/**
 * Episode keys of the HES rows that carry these NHS numbers themselves (linked or not). With
 * `mislinkedOnly` (a file with a person column), only those linked to another patient: a row linked
 * to its own NHS number's patient, or not linked, is released as that NHS number's person, whom the
 * identity check already refuses; only a row shown as someone else needs its key (few rows, where
 * all objectors' rows would be millions at national scale).
 */
export async function hesKeysOf(db: VerifierDb, nhs: string[], mislinkedOnly = false): Promise<string[]> {
  if (!nhs.length) return [];
  const rows = (await db.query(
    mislinkedOnly
      ? `SELECT h.epikey::text AS k FROM hes_episodes h JOIN ${PATIENTS_SOURCE} p ON p.id = h.patient_id
          WHERE h.nhs_number = ANY($1::bpchar[]) AND p.nhs_number <> h.nhs_number AND h.epikey IS NOT NULL`
      : `SELECT epikey::text AS k FROM hes_episodes WHERE nhs_number = ANY($1::bpchar[]) AND epikey IS NOT NULL`,
    [nhs],
  )) as { k: string }[];
  return rows.map((r) => r.k);
}

/** The HES and social-care tables and their event dates, as the verifier reads them. */
export const SOURCE_ROWS = {
  hes: { table: 'hes_episodes', date: 'admission_date' },
  social_care: { table: 'social_care_records', date: 'start_date' },
} as const;

/**
 * Persons shown with a hospital or social-care row of an objector (SPEC §5 step 2: such rows are
 * excluded by their own NHS number, whoever they are linked to): the patients that linkage gave a
 * row carrying one of these NHS numbers other than their own, in the event range. Per person, the
 * most rows a file may hold for them: their rows of no blocked NHS number (linked to them, or of
 * their NHS number and linked to no one), in the range. Few persons (mislinked rows), so it holds
 * at national scale.
 */
export async function mislinkedPersons(
  db: VerifierDb,
  dataset: keyof typeof SOURCE_ROWS,
  nhs: string[],
  range: { from?: string; to?: string },
): Promise<{ nhs: string; rows: number }[]> {
  if (!nhs.length) return [];
  const { table, date } = SOURCE_ROWS[dataset];
  const inRange = (s: string) =>
    `($2::date IS NULL OR ${s}.${date} >= $2::date) AND ($3::date IS NULL OR ${s}.${date} <= $3::date)`;
  const rows = (await db.query(
    `WITH shown AS (
       SELECT DISTINCT p.id, p.nhs_number FROM ${table} s JOIN ${PATIENTS_SOURCE} p ON p.id = s.patient_id
        WHERE s.nhs_number = ANY($1::bpchar[]) AND p.nhs_number <> s.nhs_number AND ${inRange('s')})
     SELECT m.nhs_number::text AS nhs,
            (SELECT count(*) FROM ${table} o WHERE o.patient_id = m.id AND ${inRange('o')}
                AND (o.nhs_number IS NULL OR NOT o.nhs_number = ANY($1::bpchar[])))
          + (SELECT count(*) FROM ${table} o WHERE o.patient_id IS NULL AND o.nhs_number = m.nhs_number AND ${inRange('o')}) AS rows
       FROM shown m`,
    [nhs, range.from ?? null, range.to ?? null],
  )) as { nhs: string; rows: string }[];
  return rows.map((r) => ({ nhs: r.nhs.trim(), rows: Number(r.rows) }));
}

/**
 * A random sample of about `n` linked patients with HES rows (pages sampled, so it costs the pages
 * read, not the table), each with the episode keys of every HES row the release may show as theirs:
 * rows linked to them, and their NHS number's rows linked to no one. The verifier recomputes those
 * keys as the tier keys them, and a sampled person's row in the file must carry one of them (#19:
 * every key under the right key, not only of the right shape).
 */
export async function sampledEpikeys(db: VerifierDb, n: number): Promise<{ nhs: string; keys: string[] }[]> {
  const [{ rows: est }] = (await db.query(
    `SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = 'hes_episodes'::regclass`,
  )) as { rows: number }[];
  // Pages sampled: 4n rows' worth (a page's rows are often one load's, of few persons).
  const percent = est > 0 ? Math.min(100, (400 * n) / est) : 100;
  const rows = (await db.query(
    `WITH s AS (SELECT DISTINCT patient_id FROM hes_episodes TABLESAMPLE SYSTEM ($1)
                 WHERE patient_id IS NOT NULL LIMIT $2),
          p AS (SELECT x.id, x.nhs_number FROM s JOIN ${PATIENTS_SOURCE} x ON x.id = s.patient_id)
     SELECT p.nhs_number::text AS nhs, array_agg(h.k) AS keys FROM p
       CROSS JOIN LATERAL (SELECT epikey::text AS k FROM hes_episodes WHERE patient_id = p.id AND epikey IS NOT NULL
                            UNION ALL
                           SELECT epikey::text FROM hes_episodes
                            WHERE patient_id IS NULL AND nhs_number = p.nhs_number AND epikey IS NOT NULL) h
      GROUP BY p.nhs_number`,
    [percent, n],
  )) as { nhs: string; keys: string[] }[];
  return rows.map((r) => ({ nhs: r.nhs.trim(), keys: r.keys }));
}

/**
 * The episode keys of the HES rows a release may show of persons `nhs` (drawn from its ledger):
 * rows linked to them, and their NHS number's rows linked to no one, in the event range, less rows
 * whose own NHS number is in `blocked` (probe 42: looked for in a file without a person column).
 */
export async function epikeysOfPersons(
  db: VerifierDb,
  nhs: string[],
  blocked: string[],
  range: { from?: string; to?: string },
): Promise<string[]> {
  const rows = (await db.query(
    `WITH p AS (SELECT x.id, x.nhs_number FROM ${PATIENTS_SOURCE} x WHERE x.nhs_number = ANY($1::bpchar[])),
          n AS (SELECT unnest($1::bpchar[]) AS nhs_number)
     SELECT h.epikey::text AS k FROM hes_episodes h
      WHERE h.epikey IS NOT NULL
        AND (h.patient_id IN (SELECT id FROM p)
             OR (h.patient_id IS NULL AND h.nhs_number IN (SELECT nhs_number FROM n)))
        AND (h.nhs_number IS NULL OR NOT h.nhs_number = ANY($2::bpchar[]))
        AND ($3::date IS NULL OR h.admission_date >= $3::date) AND ($4::date IS NULL OR h.admission_date <= $4::date)`,
    [nhs, blocked, range.from ?? null, range.to ?? null],
  )) as { k: string }[];
  return rows.map((r) => r.k);
}

/** The bid's consent cohort (NHS numbers). */
export async function consentCohort(db: VerifierDb, bidId: string): Promise<string[]> {
  const rows = (await db.query(`SELECT nhs_number::text AS nhs FROM bid_cohort_members WHERE bid_id = $1`, [
    bidId,
  ])) as { nhs: string }[];
  return rows.map((r) => r.nhs.trim());
}

export interface ReleaseUnderCheck {
  id: string;
  bid_id: string;
  tier: string;
  legal_basis: string;
  spec: unknown;
  /** The objection snapshot's instant as text, microseconds kept (a Date would cut it to the millisecond). */
  snapshot_cut: string | null;
  token_seed_enc: Buffer | null;
  /** The staff-only exact figures the release recorded (null while it runs). */
  excluded: {
    kAnonymity?: { suppressedByFile?: Record<string, number>; removedByFile?: Record<string, number> };
    kmAnonymity?: { emptiedByFile?: Record<string, number>; suppressedByFile?: Record<string, number> };
  } | null;
}

export async function releaseRow(db: VerifierDb, id: string): Promise<ReleaseUnderCheck | undefined> {
  const rows = (await db.query(
    `SELECT id, bid_id, tier, legal_basis, spec, snapshot_at::text AS snapshot_cut, token_seed_enc, excluded
       FROM releases WHERE id = $1`,
    [id],
  )) as ReleaseUnderCheck[];
  return rows[0];
}

export async function releaseFileRows(
  db: VerifierDb,
  id: string,
): Promise<{ name: string; rows: number; bytes: number; sha256: string }[]> {
  const rows = (await db.query(
    `SELECT name, rows::bigint::text AS rows, bytes::bigint::text AS bytes, sha256 FROM release_files WHERE release_id = $1 ORDER BY name`,
    [id],
  )) as { name: string; rows: string; bytes: string; sha256: string }[];
  return rows.map((r) => ({ name: r.name, rows: Number(r.rows), bytes: Number(r.bytes), sha256: r.sha256 }));
}

export async function bidKeySealed(db: VerifierDb, bidId: string): Promise<Buffer | undefined> {
  const rows = (await db.query(`SELECT key_enc FROM bid_keys WHERE bid_id = $1`, [bidId])) as {
    key_enc: Buffer;
  }[];
  return rows[0]?.key_enc;
}

/**
 * Objection events and NHS number aliases recorded by `cut` (as `objectorsAt` reads them), and
 * withdrawals retracted by then, counted in `db`'s view: read live and in a release's snapshot, the
 * difference is what was recorded before the snapshot's instant that its data does not hold (see the
 * engine's verify stage). Rows are only added, and a withdrawal's `retracted_at` only ever set once.
 * An alias is counted too: one an intake recorded before the snapshot and committed after it made a
 * record of an objector's other number released (review-30); so is a retraction, which puts an
 * objection back in force: one an intake made before the snapshot and committed after it released
 * the objector (probe 33).
 */
export async function objectionsRecordedBy(db: VerifierDb, cut: string): Promise<number> {
  const rows = (await db.query(
    `SELECT (SELECT count(*) FILTER (WHERE recorded_at <= $1::timestamptz)
                  + count(*) FILTER (WHERE retracted_at <= $1::timestamptz) FROM objection_events)
          + (SELECT count(*) FROM nhs_number_aliases WHERE recorded_at <= $1::timestamptz) AS n`,
    [cut],
  )) as { n: string }[];
  return Number(rows[0].n);
}
