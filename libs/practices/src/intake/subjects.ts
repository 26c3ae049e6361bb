import { extractEntriesOf } from '@custodian/objections';
import { TWO_PATIENTS } from '../objection-entry';
import { unresolvedObjections } from '../staging-rows';
import type { IntakeContext } from './context';

/**
 * The subjects stage, over the staged rows: `xp`, this extract's Patients (the last line of each
 * resource id, the earlier refused; of two with one NHS number the later line, the earlier
 * refused); `idn`, every NHS number each Patient id carries (refused lines' too), which objection
 * registrations reach and the Type 1 check keeps out (objections.ts); and `subj`, every clinical
 * entry and objection resolved to an NHS number (`in_xp`: through a Patient of this extract), or
 * refused when it names nobody. (`R`: a clinical entry recorded in error, which takes back what an
 * earlier extract stored under its id: merge.ts.)
 */
export async function resolveSubjects(ix: IntakeContext, everyLineRead: boolean): Promise<void> {
  const { tx, ods } = ix;
  await tx.query('ANALYZE stg');

  // Patients of this extract: the last line of each resource id wins.
  await tx.query(`
    CREATE TEMP TABLE xp ON COMMIT DROP AS
    SELECT DISTINCT ON (id) line, id, nhs_number, birth_date, sex, postcode, ethnicity,
           coalesce(shared_key, false) AS shared_key
      FROM stg WHERE kind = 'P' ORDER BY id, line DESC`);
  await tx.query('CREATE INDEX ON xp (id)');
  await tx.query('ANALYZE xp');
  // Who each Patient id names, for objections: the NHS numbers of every Patient line of that id
  // (`P`: an earlier line of the id too) and those the staging read for objections only (`N`: a
  // refused Patient line's, and a line's numbers beside the one it is stored under).
  await tx.query(`CREATE TEMP TABLE idn ON COMMIT DROP AS
    SELECT DISTINCT line, id, nhs_number, kind FROM stg WHERE kind IN ('P', 'N') AND nhs_number IS NOT NULL`);
  // Looked up by objection entries (reach, wref) and by Type 1 objectors (t1x): indexed only where the
  // extract has objection entries — an extract without any took 9% longer to build them (BENCHMARKS.md).
  const [{ entries }]: { entries: boolean }[] = await tx.query(
    `SELECT EXISTS (SELECT 1 FROM stg WHERE kind = 'O') AS entries`,
  );
  if (entries)
    for (const column of ['id', 'nhs_number', 'line']) await tx.query(`CREATE INDEX ON idn (${column})`);
  await tx.query('ANALYZE idn');

  // Every clinical entry and objection resolved to an NHS number: a Patient of this extract (any
  // of its records, duplicates included: they are resolved before being refused, below), or one
  // registered with this practice (by the practice's own id, whichever practice is current). Two
  // records of one NHS number are one patient (SPEC §2): an objection on either applies.
  await tx.query(
    `CREATE TEMP TABLE subj ON COMMIT DROP AS
     SELECT s.line, s.kind, s.id, s.resource_type, s.code_system, s.code, s.event_date, s.value,
            s.obj_type, s.obj_action, s.obj_at,
            COALESCE(xp.nhs_number, held.nhs_number, CASE WHEN s.subject IS NULL THEN s.nhs_number END) AS nhs_number,
            CASE WHEN s.subject IS NOT NULL THEN s.nhs_number END AS named_beside,
            xp.id IS NOT NULL AS in_xp, s.subject
       FROM stg s
       LEFT JOIN xp ON xp.id = s.subject
       LEFT JOIN LATERAL (
         SELECT p.nhs_number FROM patient_registrations r JOIN patients p ON p.id = r.patient_id
          WHERE r.practice_ods = $1 AND r.source_id = s.subject
          ORDER BY r.received_at DESC LIMIT 1
       ) held ON xp.id IS NULL
      WHERE s.kind IN ('E', 'O', 'R')`,
    [ods],
  );
  if (entries) await tx.query('CREATE INDEX ON subj (line)');
  // A registration applies to everyone its subject may be (fail closed, as the extractor reads it):
  // `reach` of its seed — by reference, every number of every Patient line of the id (refused and
  // earlier lines' included) and of every patient registered under it at this practice; by number,
  // that number. An objection on one id written twice with two numbers reached the later only, one on
  // a Patient refused for its birth date nobody, and one by reference not the numbers a duplicate
  // record carries beside it, while what was held of them was released (probe-26, review-26).
  await tx.query(
    `INSERT INTO subj (line, kind, id, resource_type, code_system, code, event_date, value, obj_type, obj_action, obj_at, nhs_number, named_beside, in_xp, subject)
     SELECT DISTINCT s.line, s.kind, s.id, s.resource_type, s.code_system, s.code, s.event_date, s.value,
            s.obj_type, s.obj_action, s.obj_at, w.nhs_number, NULL::char(10), false, s.subject
       FROM stg s
       JOIN LATERAL (${reach(`${referenced('s.subject')} UNION SELECT s.nhs_number WHERE s.subject IS NULL`, 's.subject')}) w ON true
      WHERE s.kind = 'O' AND s.obj_action = 'register' AND w.nhs_number IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM subj x WHERE x.line = s.line AND x.kind = 'O' AND x.obj_type = s.obj_type
                           AND x.obj_action = s.obj_action AND x.nhs_number = w.nhs_number)`,
    [ods],
  );
  // An entry this practice sent before, re-sent with a reference that names nobody now (no Patient
  // line of the id, no registration under it: the upload that first received it moved the
  // registration it resolved through, or deleted it for a Type 1), names whom it named then
  // (`extractEntriesOf`, by its resource key, type and action): the same extract re-sent reported
  // the entry refused, and a withdrawal so refused was retracted as no longer carried (review-28).
  // Not where a line could not be read: it may be the Patient named now (review-28, over 1 MiB).
  if (entries && everyLineRead)
    await tx.query(
      `INSERT INTO subj (line, kind, id, resource_type, code_system, code, event_date, value, obj_type, obj_action, obj_at, nhs_number, named_beside, in_xp, subject)
       SELECT DISTINCT s.line, s.kind, s.id, s.resource_type, s.code_system, s.code, s.event_date, s.value,
              s.obj_type, s.obj_action, s.obj_at, e.nhs_number, s.nhs_number, false, s.subject
         FROM stg s JOIN (${extractEntriesOf('$1')}) e
           ON e.resource_id = s.id AND e.type = s.obj_type AND e.action = s.obj_action
        WHERE s.kind = 'O' AND s.subject IS NOT NULL AND NOT EXISTS (${referenced('s.subject')})`,
      [ods],
    );
  // A registration whose reference names no Patient that can be found (a Patient line too long to
  // read, or not JSON: review-28; not one read without a valid NHS number, which identifies nobody
  // the centre could hold: review-17 O2) refuses the whole extract, as the extractor refuses its export:
  // nobody could be shown not to be its objector, and what another practice held of them stayed.
  const unresolved: { line: number }[] = await tx.query(
    `SELECT DISTINCT u.line FROM subj u
      WHERE u.kind = 'O' AND u.obj_action = 'register' AND u.nhs_number IS NULL AND u.subject IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM subj r WHERE r.line = u.line AND r.nhs_number IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM stg p WHERE p.kind IN ('P', 'N') AND p.id = u.subject)
      ORDER BY 1 LIMIT 100`,
  );
  if (unresolved.length)
    throw unresolvedObjections(
      unresolved.map((u) => ({
        line: u.line,
        reason: 'subject: no Patient that can be found (registration)',
      })),
    );
  await ix.rejected(
    `SELECT line, 'subject: no such Patient in this extract or held for this practice' AS reason
       FROM subj u WHERE nhs_number IS NULL
        AND NOT EXISTS (SELECT 1 FROM subj r WHERE r.line = u.line AND r.subject = u.subject
                           AND r.nhs_number IS NOT NULL)`,
  );
  await tx.query('DELETE FROM subj WHERE nhs_number IS NULL');
  // A withdrawal by reference applies to every number the reference names (a practice's Patient id
  // is one person: its lines' numbers and those registered under it here), as its registration does
  // (review-28: a registration reached a number since corrected and its withdrawal did not, so the
  // patient stayed an objector for good). One naming, beside its reference, an NHS number that is not
  // one of the id's names two persons: not applied (as the extractor reads it; withdrawing for the
  // reference alone could release a patient who never withdrew). So is one whose id's lines here
  // carry numbers that no one line carries together. Its registrations stand.
  await tx.query(
    `CREATE TEMP TABLE wref ON COMMIT DROP AS
     SELECT DISTINCT w.line, w.obj_type, k.nhs_number FROM subj w JOIN LATERAL (${referenced('w.subject')}) k ON true
      WHERE w.kind = 'O' AND w.obj_action = 'withdraw' AND w.subject IS NOT NULL`,
    [ods],
  );
  // A reference that names nobody now: what its entry named when first received (above).
  await tx.query(
    `INSERT INTO wref SELECT DISTINCT w.line, w.obj_type, w.nhs_number FROM subj w
    WHERE w.kind = 'O' AND w.obj_action = 'withdraw' AND w.subject IS NOT NULL AND NOT EXISTS (${referenced('w.subject')})`,
    [ods],
  );
  await tx.query('CREATE INDEX ON wref (line)');
  // What each withdrawal names — the id's lines' numbers, or the number — and the numbers the
  // extract's Patient lines carry beside those (`wwide`), set-wise once: one statement per withdrawal
  // picking its lines with a CASE no index serves took 31 s for 200 withdrawals among 4,000 Patients
  // (review-30; 0.8 s before).
  await tx.query(
    `CREATE TEMP TABLE wwide ON COMMIT DROP AS
     WITH seed AS (
       SELECT w.line, i.nhs_number FROM subj w JOIN idn i ON i.id = w.subject
        WHERE w.kind = 'O' AND w.obj_action = 'withdraw' AND w.subject IS NOT NULL
       UNION
       SELECT w.line, w.nhs_number FROM subj w
        WHERE w.kind = 'O' AND w.obj_action = 'withdraw' AND w.subject IS NULL AND w.nhs_number IS NOT NULL)
     SELECT DISTINCT seed.line, beside.nhs_number FROM seed JOIN idn carrier ON carrier.nhs_number = seed.nhs_number
       JOIN idn beside ON beside.line = carrier.line`,
  );
  await tx.query('CREATE INDEX ON wwide (line)');
  await ix.rejected(
    `WITH two AS (
       SELECT DISTINCT line FROM subj w
        WHERE kind = 'O' AND obj_action = 'withdraw'
          AND named_beside IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM wref k WHERE k.line = w.line AND k.nhs_number = w.named_beside)
       -- what it names and the numbers carried beside them (wwide) are not all on one Patient line:
       -- two records, maybe two persons (as the extractor reads them, review-19; review-28: a record
       -- sharing a number with another that carries one more, [n2, n0] and [n1, n0], was withdrawn
       -- here and kept by the extractor)
       UNION
       SELECT m.line FROM (SELECT line, count(*) AS n FROM wwide GROUP BY line) m
        WHERE m.n > 1 AND NOT EXISTS (
          SELECT 1 FROM wwide x JOIN idn y ON y.nhs_number = x.nhs_number WHERE x.line = m.line
           GROUP BY y.line HAVING count(DISTINCT y.nhs_number) = m.n)),
     gone AS (DELETE FROM subj WHERE kind = 'O' AND obj_action = 'withdraw' AND line IN (SELECT line FROM two)
              RETURNING line)
     SELECT line, reason FROM (SELECT DISTINCT line, $1::text AS reason FROM gone) g`,
    [`subject: ${TWO_PATIENTS}`],
  );
  // A reference's withdrawal: on each number of its record, and on no other (the first reading took
  // the stored line's number, else the latest registered under the id).
  await tx.query(`
    DELETE FROM subj s WHERE s.kind = 'O' AND s.obj_action = 'withdraw' AND s.subject IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM wref k WHERE k.line = s.line AND k.obj_type = s.obj_type AND k.nhs_number = s.nhs_number)`);
  await tx.query(
    `INSERT INTO subj (line, kind, id, resource_type, code_system, code, event_date, value, obj_type, obj_action, obj_at, nhs_number, named_beside, in_xp, subject)
     SELECT DISTINCT s.line, s.kind, s.id, s.resource_type, s.code_system, s.code, s.event_date, s.value,
            s.obj_type, s.obj_action, s.obj_at, k.nhs_number, NULL::char(10), false, s.subject
       FROM stg s JOIN wref k ON k.line = s.line AND k.obj_type = s.obj_type
      WHERE s.kind = 'O' AND s.obj_action = 'withdraw' AND s.subject IS NOT NULL
        AND k.line NOT IN (SELECT line FROM rej)
        AND NOT EXISTS (SELECT 1 FROM subj x WHERE x.line = s.line AND x.kind = 'O' AND x.obj_type = s.obj_type
                           AND x.obj_action = 'withdraw' AND x.nhs_number = k.nhs_number)`,
  );
  // A withdrawal on one person (not refused above) also applies to the numbers a Patient line carries
  // beside those it names — its reference's lines' numbers, or its number — as its registration does
  // and the extractor reads it: the numbers `two` found on one line (review-28: a registration on
  // `Patient/c` reached n1 of a duplicate record [n0, n1], its withdrawal n0 only, and n1 stayed an
  // objector). Not beside a number only registered under the id (corrected: maybe another person's).
  await tx.query(
    `INSERT INTO subj (line, kind, id, resource_type, code_system, code, event_date, value, obj_type, obj_action, obj_at, nhs_number, named_beside, in_xp, subject)
     SELECT DISTINCT s.line, s.kind, s.id, s.resource_type, s.code_system, s.code, s.event_date, s.value,
            s.obj_type, s.obj_action, s.obj_at, b.nhs_number, NULL::char(10), false, s.subject
       FROM stg s
       JOIN LATERAL (SELECT i.nhs_number FROM idn i WHERE i.id = s.subject
                     UNION SELECT s.nhs_number WHERE s.subject IS NULL) sd ON true
       JOIN idn l ON l.nhs_number = sd.nhs_number JOIN idn b ON b.line = l.line
      WHERE s.kind = 'O' AND s.obj_action = 'withdraw'
        AND EXISTS (SELECT 1 FROM subj x WHERE x.line = s.line AND x.kind = 'O' AND x.obj_type = s.obj_type
                       AND x.obj_action = 'withdraw')
        AND NOT EXISTS (SELECT 1 FROM subj x WHERE x.line = s.line AND x.kind = 'O' AND x.obj_type = s.obj_type
                           AND x.obj_action = 'withdraw' AND x.nhs_number = b.nhs_number)`,
  );
  await tx.query('ANALYZE subj');

  // Of two Patient lines of one resource id, the later is stored: an earlier one that differs is
  // refused, said (the same line twice is one record: review-26).
  await ix.rejected(`
    SELECT line, reason FROM (
    SELECT s.line AS line, 'Patient: a later line has the same resource id' AS reason
      FROM stg s JOIN xp ON xp.id = s.id AND xp.line <> s.line
     WHERE s.kind = 'P'
       AND ((s.nhs_number, s.birth_date, s.sex, s.postcode, s.ethnicity, coalesce(s.shared_key, false))
              IS DISTINCT FROM (xp.nhs_number, xp.birth_date, xp.sex, xp.postcode, xp.ethnicity, xp.shared_key)
            OR ARRAY(SELECT nhs_number FROM idn WHERE line = s.line ORDER BY 1)
                 IS DISTINCT FROM ARRAY(SELECT nhs_number FROM idn WHERE line = xp.line ORDER BY 1))) d`);
  // Subjects resolved: of two Patient resources with one NHS number, the later line is stored and
  // the earlier refused (what either's entries name is the NHS number's, above).
  await ix.rejected(`
    WITH keep AS (SELECT DISTINCT ON (nhs_number) line FROM xp ORDER BY nhs_number, line DESC),
    gone AS (DELETE FROM xp WHERE line NOT IN (SELECT line FROM keep) RETURNING line)
    SELECT line, 'Patient: a later line has the same NHS number' AS reason FROM gone`);

  // Every NHS number this extract names (its Patients', every number its Patient lines carry, and
  // those its entries name otherwise):
  // the set the register's Type 1 check and the patients' locks are taken over.
  await tx.query(`
    CREATE TEMP TABLE xn ON COMMIT DROP AS
    SELECT nhs_number FROM xp UNION SELECT nhs_number FROM subj WHERE NOT in_xp
    UNION SELECT nhs_number FROM idn`);
}

/** The numbers a Patient reference `id` names: its Patient lines' (`idn`), its registrations' at the practice ($1). */
export function referenced(id: string): string {
  return `SELECT i.nhs_number FROM idn i WHERE i.id = ${id}
          UNION SELECT p.nhs_number FROM patient_registrations r JOIN patients p ON p.id = r.patient_id
                 WHERE r.practice_ods = $1 AND r.source_id = ${id}`;
}

/**
 * Everyone a subject may be, one step around the NHS numbers of `seed` (a SELECT of one column):
 * those numbers; the numbers a Patient line of this extract carries beside one of them; and every
 * number of the ids (`id`, and those of the lines carrying them) — their lines', their registrations'
 * at the practice ($1). Not a chain (review-19: following numbers on from record to record made
 * unrelated patients objectors through one wrong identifier).
 */
export function reach(seed: string, id: string): string {
  return `WITH sd AS (SELECT DISTINCT nhs_number FROM (${seed}) q(nhs_number) WHERE nhs_number IS NOT NULL),
               ids AS (SELECT ${id} AS id WHERE ${id} IS NOT NULL
                       UNION SELECT i.id FROM idn i JOIN sd ON i.nhs_number = sd.nhs_number)
          SELECT nhs_number FROM sd
          UNION SELECT b.nhs_number FROM idn a JOIN sd ON a.nhs_number = sd.nhs_number JOIN idn b ON b.line = a.line
          UNION SELECT i.nhs_number FROM idn i JOIN ids ON i.id = ids.id
          UNION SELECT p.nhs_number FROM patient_registrations r JOIN patients p ON p.id = r.patient_id
                  JOIN ids ON r.source_id = ids.id WHERE r.practice_ods = $1`;
}
