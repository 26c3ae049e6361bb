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
 * withdrawal of a strictly later instant (`effective_at`) follows. One column, `nhs`.
 */
export const activeObjections = (cut: string, types: string) =>
  `SELECT DISTINCT r.nhs_number AS nhs
     FROM objection_events r
    WHERE r.action = 'register' AND r.recorded_at <= ${cut} AND r.type = ANY(${types})
      -- SPEC §2: the latest instant wins, and on an exact tie the objection beats the withdrawal:
      -- a registration stands unless a withdrawal of the same type is strictly later.
      AND NOT EXISTS (
        SELECT 1 FROM objection_events later
         WHERE later.nhs_number = r.nhs_number AND later.type = r.type AND later.recorded_at <= ${cut}
           AND later.action = 'withdraw' AND later.effective_at > r.effective_at)`;

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
 * Objection events recorded by `cut` (as `objectorsAt` reads them), counted in `db`'s view: read live
 * and in a release's snapshot, the difference is the objections recorded before the snapshot's
 * instant that its data does not hold (see the engine's verify stage).
 */
export async function objectionsRecordedBy(db: VerifierDb, cut: string): Promise<number> {
  const rows = (await db.query(
    `SELECT count(*)::bigint AS n FROM objection_events WHERE recorded_at <= $1::timestamptz`,
    [cut],
  )) as { n: string }[];
  return Number(rows[0].n);
}
