import { GP_EVENTS_SOURCE, PATIENTS_SOURCE } from '@custodian/practices';
import { DATASET_FILE, PERSON_FIELDS } from '@custodian/catalog';
import type { Dataset } from '@custodian/catalog';
import type { ReleaseSpec } from '../release.types';
import { fail } from './verification-failure';
import { activeObjections, SOURCE_ROWS, VerifierDb } from './verifier-sql';

/**
 * Files without a person column in the identifiable and pseudonymised tiers (a file of codes and
 * dates) name nobody, so no check by identifier can find an objector's row in them (probe 33: one
 * added verified). What such a file may hold is counted from the database instead, written from
 * the SPEC: the rows of the persons the release's ledger says it released (a row per event: their
 * GP events, their hospital or social-care rows — linked to them, or of their NHS number and
 * linked to no one — less rows whose own NHS number is an objector's, in the event range; a row
 * per person: those of them with such rows), and the ledger's persons must hold no objector (and,
 * under consent, only the cohort). A row added (an objector's, or anyone's) changes the count.
 * Since probe 42 every dataset file is recounted: one with a person column is checked by who
 * appears in it, and an objector's rows shown under a released person's id verified. The anonymised
 * tier too: there k-anonymity and kᵐ-anonymity take rows, so the file's rows and the kᵐ rows removed (the engine's exact count) make the recount where k-anonymity took no
 * one's row of the file, and no more than it otherwise; a file of a row per person holds the
 * persons recounted less those k-anonymity removed from it.
 */

/** What the anonymised tier's suppression took from a file (the engine's exact counts). */
export interface SuppressedOf {
  /** Persons k-anonymity took a row of the file from, and of them those it took the whole file from. */
  kPersons: number;
  kRemoved: number;
  /** Rows kᵐ-anonymity removed. */
  kmRows: number;
}

/**
 * The ledger's released persons, as NHS numbers in one PostgreSQL `bigint[]` literal (read as
 * committed: the release wrote them; handed to the data snapshot's connection as it came, one
 * string of ~11 bytes a person, where an array of a million strings and their row objects held
 * ~100 MB of the worker's 192 MB heap); undefined where the release ran no differencing guard.
 */
export async function ledgerReleased(
  db: VerifierDb,
  releaseId: string,
): Promise<{ nhs: string; persons: number } | undefined> {
  const [{ ran }] = (await db.query(
    `SELECT EXISTS (SELECT 1 FROM release_ledger WHERE release_id = $1 AND guard = 'record_difference') AS ran`,
    [releaseId],
  )) as { ran: boolean }[];
  if (!ran) return undefined;
  const [row] = (await db.query(
    `SELECT coalesce(array_agg(u.nhs), '{}')::text AS nhs, count(*)::int AS persons
       FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(nhs)
      WHERE m.release_id = $1 AND m.state = 'released'`,
    [releaseId],
  )) as { nhs: string; persons: number }[];
  return row;
}

export interface RecountInput {
  /** The ledger's released persons (`ledgerReleased`: a `bigint[]` literal), and how many. */
  released: string;
  persons: number;
  /** The snapshot's instant, and the objection types the release leaves out. */
  cut: string;
  types: ('type1' | 'type2')[];
  /** The bid whose consent cohort alone may appear, where one applies. */
  consentBid?: string;
  range: { from?: string; to?: string };
}

/** Objectors (or persons outside the consent cohort) among the ledger's released persons: a count. */
export async function ledgerObjectors(data: VerifierDb, i: RecountInput): Promise<number> {
  const [{ n }] = (await data.query(
    `WITH released AS (SELECT lpad(x::text, 10, '0') AS nhs FROM unnest($1::bigint[]) AS x)
     SELECT count(*)::int AS n FROM released r
      WHERE r.nhs IN (SELECT nhs FROM (${activeObjections('$2::timestamptz', '$3::text[]')}) b)
         OR ($4::uuid IS NOT NULL
             AND r.nhs NOT IN (SELECT nhs_number::text FROM bid_cohort_members WHERE bid_id = $4::uuid))`,
    [i.released, i.cut, i.types, i.consentBid ?? null],
  )) as { n: number }[];
  return n;
}

/** The planner's count of patients held (`reltuples`; a count where the table was never analysed). */
async function patientsHeld(data: VerifierDb): Promise<number> {
  const [{ n }] = (await data.query(
    `SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples ELSE (SELECT count(*) FROM ${PATIENTS_SOURCE}) END::float8 AS n
       FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [PATIENTS_SOURCE],
  )) as { n: number }[];
  return n;
}

/** The rows a file of `dataset` may hold (`perEvent`: a row per event, else per person). */
export async function expectedRows(
  data: VerifierDb,
  dataset: Dataset,
  perEvent: boolean,
  i: RecountInput,
): Promise<number> {
  const inRange = (col: string) =>
    `($4::date IS NULL OR ${col} >= $4::date) AND ($5::date IS NULL OR ${col} <= $5::date)`;
  // A small cohort's GP rows are read through its persons (the patients' NHS numbers, then their
  // events by patient): matching every event against the persons read the whole of gp_events for a
  // practice of twenty (#22 target 4, test/release-cohort-cost). The size decides: under a fifth of
  // the patients held, through the indexes; else one scan with a hash of the persons.
  if (dataset === 'gp' && i.persons * 5 < (await patientsHeld(data))) {
    // Each person's events by patient (a lateral count: the index, whatever the planner guesses of
    // the join — it hashed all of gp_events for 150 persons of 3,000).
    const [{ n }] = (await data.query(
      `SELECT ${perEvent ? 'coalesce(sum(c.n), 0)' : 'count(*) FILTER (WHERE c.n > 0)'}::int AS n
         FROM ${PATIENTS_SOURCE} p
         CROSS JOIN LATERAL (SELECT count(*) AS n FROM ${GP_EVENTS_SOURCE} e
                              WHERE e.patient_id = p.id AND ${inRange('e.event_date')}) c
        WHERE p.nhs_number IN (SELECT lpad(x::text, 10, '0') FROM unnest($1::bigint[]) AS x)
          AND $2::timestamptz IS NOT NULL AND $3::text[] IS NOT NULL`,
      [i.released, i.cut, i.types, i.range.from ?? null, i.range.to ?? null],
    )) as { n: number }[];
    return n;
  }
  const rows =
    dataset === 'gp'
      ? `SELECT p.nhs_number::text AS nhs FROM ${GP_EVENTS_SOURCE} e JOIN ${PATIENTS_SOURCE} p ON p.id = e.patient_id
          WHERE ${inRange('e.event_date')}`
      : `SELECT coalesce(p.nhs_number, s.nhs_number)::text AS nhs
           FROM ${SOURCE_ROWS[dataset].table} s LEFT JOIN ${PATIENTS_SOURCE} p ON p.id = s.patient_id
          WHERE ${inRange(`s.${SOURCE_ROWS[dataset].date}`)}
            AND (s.nhs_number IS NULL
                 OR s.nhs_number::text NOT IN (SELECT nhs FROM (${activeObjections('$2::timestamptz', '$3::text[]')}) b))`;
  const [{ n }] = (await data.query(
    `WITH released AS (SELECT lpad(x::text, 10, '0') AS nhs FROM unnest($1::bigint[]) AS x),
          shown AS (${rows})
     SELECT ${perEvent ? 'count(*)' : 'count(DISTINCT s.nhs)'}::int AS n
       FROM shown s WHERE s.nhs IN (SELECT nhs FROM released)
        AND $2::timestamptz IS NOT NULL AND $3::text[] IS NOT NULL`,
    [i.released, i.cut, i.types, i.range.from ?? null, i.range.to ?? null],
  )) as { n: number }[];
  return n;
}

/** What the database says the dataset files may hold (`recountExpected`), to hold the files to. */
export interface RecountExpected {
  /** Persons the ledger records as released whom the objection snapshot excludes. */
  objectors: number;
  /** Rows that may leave, by dataset. */
  want: Partial<Record<Dataset, number>>;
}

/**
 * The recount's reads, for an identifiable, pseudonymised or anonymised release: the ledger's
 * released persons who are excluded, and the rows each dataset's file may hold of the others.
 * Database work only, so the verifier starts it while it reads the files (the counts cost about
 * as much as the files' own check at 100k persons: probe 42's recount of every file took the
 * verifier's share from 0.14-0.16 to 0.22-0.27 of a release when run after them). `db` reads as
 * committed, `inData` in the release's data snapshot; undefined where the release ran no guard.
 */
export async function recountExpected(
  db: VerifierDb,
  inData: <T>(read: (data: VerifierDb) => Promise<T>) => Promise<T>,
  r: { releaseId: string; bidId: string; cut: string; spec: ReleaseSpec },
): Promise<RecountExpected | undefined> {
  const { spec } = r;
  const released = spec.datasets.length ? await ledgerReleased(db, r.releaseId) : undefined;
  if (!released) return undefined;
  const input: RecountInput = {
    released: released.nhs,
    persons: released.persons,
    cut: r.cut,
    types: ['public_health_emergency', 'statutory', 'consent'].includes(spec.legalBasis)
      ? ['type1']
      : ['type1', 'type2'],
    consentBid: spec.legalBasis === 'consent' || spec.consentCohort === true ? r.bidId : undefined,
    range: { from: spec.cohort?.eventsFrom, to: spec.cohort?.eventsTo },
  };
  const [objectors, ...counts] = await Promise.all([
    inData((data) => ledgerObjectors(data, input)),
    ...spec.datasets.map((d) =>
      inData((data) =>
        expectedRows(
          data,
          d.dataset,
          d.fields.some((f) => !PERSON_FIELDS.has(f)),
          input,
        ),
      ),
    ),
  ]);
  return { objectors, want: Object.fromEntries(spec.datasets.map((d, i) => [d.dataset, counts[i]])) };
}

/**
 * The check itself: fails where the ledger holds an excluded person, or at the first dataset file
 * whose rows are not those counted (`recountExpected`); every dataset file, since one with a person
 * column is otherwise checked by who appears in it, not by how many rows each has (an objector's
 * rows shown under a released person's id verified: probe 42). Returns the check's description.
 */
export function compareRecount(
  expected: RecountExpected,
  r: {
    spec: ReleaseSpec;
    rowsOf: (name: string) => number;
    /** Anonymised: what suppression took from each dataset's file. */
    suppressedOf?: (dataset: Dataset) => SuppressedOf;
  },
): string {
  if (expected.objectors > 0)
    fail(
      'objections',
      "the release's ledger records as released a person excluded by the objection snapshot",
    );
  for (const d of r.spec.datasets) {
    const name = DATASET_FILE[d.dataset];
    const perEvent = d.fields.some((f) => !PERSON_FIELDS.has(f));
    const want = expected.want[d.dataset] ?? 0;
    const got = r.rowsOf(name);
    const lost = r.suppressedOf?.(d.dataset);
    const ok = !lost
      ? got === want
      : !perEvent
        ? got + lost.kRemoved === want
        : lost.kPersons === 0
          ? got + lost.kmRows === want
          : got + lost.kmRows <= want;
    if (!ok)
      fail(
        'objections',
        `${name}: ${got} rows, where the persons the ledger records as released have ${want} that may leave${lost ? ' (before the recorded suppression)' : ''}`,
      );
  }
  return 'every dataset file holds the rows that may leave of the persons the ledger records as released (recounted), and those persons include no one excluded';
}
