import { Type1Keys } from '@custodian/linkage';
import {
  activeType1Among,
  ObjectionsService,
  recordAliasesSql,
  type RegisterChange,
  withdrawnType1Among,
} from '@custodian/objections';
import type { ExtractDropped } from '../dto';
import type { HeldPatients } from '../held-patients';
import { affected, type IntakeContext } from './context';
import { reach } from './subjects';

/**
 * Up to this many NHS numbers of one record (one Patient id, or one line) are paired each with each;
 * a record of more (no real one: a patient has one number, a few after corrections) only with its
 * lowest number and the numbers it is stored or registered under (this many at most), so that the
 * pairs grow linearly with what one line carries.
 */
export const ALIASES_ALL_PAIRS_MAX = 10;

export interface ObjectionsOutcome {
  /** Objection entries added to the history. */
  objections: number;
  /** The register rows that changed (audited with the extract). */
  registerChanges: RegisterChange[];
  /**
   * Type 1 objectors of this extract kept out, their entries, and patients held for them deleted —
   * of those, the ones this practice had registered (the report: whether another practice held
   * someone is not the uploader's to know; a review).
   */
  type1: ExtractDropped['type1'];
  /** Patients held for them deleted, whoever held them (the audit entry and the relinking job). */
  heldDeletedAll: number;
  /**
   * Pairs of NHS numbers this extract's records gave as one person's, recorded and stopped (the
   * audit entry: a pair widens whom an objection reaches; counts, never numbers).
   */
  aliases: { recorded: number; retracted: number };
}

/**
 * The objections stage: this extract's objection entries join the register's history, the register
 * follows, the patients the extract names are locked, and (defence in depth) nobody with an active
 * Type 1 objection is stored — what was held for them goes, in this transaction. The Type 1
 * statements are skipped when nobody the extract names has one.
 */
export async function applyObjections(
  ix: IntakeContext,
  services: { objections: ObjectionsService; type1Keys: Type1Keys; held: HeldPatients },
  received: string | undefined,
): Promise<ObjectionsOutcome> {
  const { tx, actor, ods, extractId } = ix;
  const { objections: register, type1Keys, held } = services;
  // From here to the commit, API objection calls wait (and this waits for one in progress): the
  // Type 1 check below and the merge see the register as it will stay until this commits.
  await register.lockRegisterShared(tx);
  // Objection entries join the history once, at their instant (re-sending adds nothing), then the
  // register follows: the latest instant decides, an exact tie to the objection (refreshRegister).
  // One pass over the staged entries picks the objections out; the rest reads the small table.
  // `at_received`: a registration read at the time the extract was received (no date of its own),
  // which re-sending the extract would otherwise add again at each upload's time; `resource_id`: the
  // resource it was read from, by which a re-send is told from a new entry.
  await tx.query(
    `CREATE TEMP TABLE xoe ON COMMIT DROP AS
     SELECT nhs_number, obj_type AS type, obj_action AS action, obj_at AS effective_at, line,
            coalesce(obj_action = 'register' AND obj_at = $1::timestamptz, false) AS at_received,
            nullif(id, '') AS resource_id
       FROM subj WHERE kind = 'O'`,
    [received ?? null],
  );
  const objections = await register.recordExtractEntries(tx, 'xoe', {
    extractId,
    ods,
    actorId: actor.id,
  });
  // This practice's earlier withdrawals that the extract no longer carries, for the patients whose
  // record it carries (their Patient line: an extract of a few new entries names patients it does not
  // carry whole, and retracted their withdrawals, review-19), stop counting.
  // Carried: every Patient line of it, refused and earlier lines of an id included (`idn`; review-26:
  // a refused line's withdrawal stayed in force after the practice took it back).
  await register.retractMissingWithdrawals(tx, ods, 'idn', 'xoe', 'xrw');
  await tx.query(`CREATE TEMP TABLE xo ON COMMIT DROP AS
    SELECT nhs_number FROM xoe UNION SELECT nhs_number FROM xrw`);
  // Audited at the end of the upload's transaction, with the extract: an entry appended here would
  // hold the audit chain's lock (every audited action in the service) through the whole merge.
  const registerChanges = await register.refreshRegister(tx, 'xo');

  // Locks in one order in every path (issue 29): the register's rows (just above, by NHS number),
  // then the patients this extract names, by id, before any registration, event or deletion. A
  // concurrent extract whose Type 1 objection deletes one of them (patient, then registrations and
  // events by cascade) either finishes first — this extract then sees its objection, below — or
  // waits for this one to commit. Without it the merge locked a registration and then its
  // patient, the deletion the patient and then the registration: a deadlock. With them, everyone
  // the Type 1 deletion below can reach (`t1x`: one step around numbers of `xn`), so that it locks
  // none after these: the patients registered here under an id of the extract, a number since
  // corrected among them (fix28: locked only by the deletion, after the rest, such a patient met
  // another practice's extract locking it and one of these the other way round — a deadlock).
  await tx.query(
    `SELECT p.id FROM patients p
      WHERE p.id IN (SELECT q.id FROM patients q WHERE q.nhs_number IN (SELECT nhs_number FROM xn)
                     UNION SELECT r.patient_id FROM patient_registrations r
                            WHERE r.practice_ods = $1 AND r.source_id IN (SELECT id FROM idn))
      ORDER BY p.id FOR NO KEY UPDATE OF p`,
    [ods],
  );

  // The NHS numbers each Patient record of this extract gives as one person's (its lines' and its
  // id's, refused lines' included: `idn`) join `nhs_number_aliases`, before the Type 1 check: an
  // objection on one of them, through the API or another practice's extract, now or later, applies
  // to all (review-28: recorded through the API for the number a held record carries beside its
  // own, it reached nothing held). One pass over `idn` (0.2-0.3 s for 100k lines on the loaded
  // 2-core machine); only records with two numbers pair, each pair both ways. A record of more than
  // ALIASES_ALL_PAIRS_MAX numbers pairs each with its lowest and with the numbers it is stored or
  // registered under (ten at most): every pair of a line of 1,500 numbers wrote 2.2M rows
  // (review-30), and with its lowest alone an objection on another number missed the stored record
  // (review-31). A pair
  // this practice's record (an id the extract carries) no longer gives stops counting: a second
  // number corrected away took another practice's patient out of every release for good (review-30).
  await tx.query(
    `CREATE TEMP TABLE xal ON COMMIT DROP AS
     WITH g AS (SELECT id, line, nhs_number, kind = 'P' AS stored FROM idn
                UNION ALL
                SELECT r.source_id, NULL::int, p.nhs_number, true FROM patient_registrations r JOIN patients p ON p.id = r.patient_id
                 WHERE r.practice_ods = $2 AND r.source_id IN (SELECT id FROM idn WHERE id <> '')),
          m AS (SELECT id, array_agg(DISTINCT nhs_number) AS n,
                       (array_agg(DISTINCT nhs_number) FILTER (WHERE stored))[1:$1] AS s FROM g
                 GROUP BY id, CASE WHEN id = '' THEN line END HAVING min(nhs_number) <> max(nhs_number)),
          hub AS (SELECT m.id, m.n, c FROM m, unnest(array_append(coalesce(m.s, '{}'), m.n[1])) c
                   WHERE cardinality(m.n) > $1)
     SELECT m.id AS record_id, a AS nhs_number, b AS alias FROM m, unnest(m.n) a, unnest(m.n) b WHERE cardinality(m.n) <= $1
     UNION ALL SELECT hub.id, hub.c, x FROM hub, unnest(hub.n) x
     UNION ALL SELECT hub.id, x, hub.c FROM hub, unnest(hub.n) x`,
    [ALIASES_ALL_PAIRS_MAX, ods],
  );
  // The records this extract carries whole: every Patient id of it (its lines, refused ones too).
  const [retract, record] = recordAliasesSql('xal', `(SELECT DISTINCT id FROM idn WHERE id <> '')`);
  const aliases = {
    retracted: await affected(tx, retract, [ods]),
    recorded: await affected(tx, record, [ods]),
  };
  // Type 1 defence in depth: nobody with an active Type 1 objection is stored (nor a number a
  // record gave beside one: `activeType1Among`), and what was held for them goes, in this transaction.
  await tx.query(`CREATE TEMP TABLE t1 ON COMMIT DROP AS ${activeType1Among('xn')}`);
  const [{ found }]: { found: boolean }[] = await tx.query(`SELECT EXISTS (SELECT 1 FROM t1) AS found`);
  // Linkage keeps what it needs to count them as candidates still (from what is held of them and
  // what this extract carries). A withdrawal forgets nothing: until the person is held again the
  // digests are all that makes them a candidate (fail closed). Those this extract stores now (a
  // Patient with a birth date, no active Type 1) are candidates as patients: their digests go.
  await type1Keys.forget(tx, `(${withdrawnType1Among('xp', 'x.birth_date IS NOT NULL')})`);
  // Everyone an objector of `t1` may be, one step around their numbers (subjects.ts `reach`): the
  // numbers a record of theirs carries beside, every number of their ids and of the patients
  // registered under those ids here. Kept out, and what is held of them deleted, as the objector's
  // (review-26: a record kept out as an objector's left what was held under its other number).
  if (found)
    await tx.query(
      `CREATE TEMP TABLE t1x ON COMMIT DROP AS
       SELECT DISTINCT w.nhs_number FROM t1 JOIN LATERAL (${reach('SELECT t1.nhs_number', 'NULL::varchar')}) w ON true`,
      [ods],
    );
  if (found) await type1Keys.keep(tx, 't1x', 'xp');
  // Patients the extractor marked as having a Type 1 objector's sex, DOB and postcode (a twin never
  // held): one more person with that key; unmarked in this extract, no longer (issue #26).
  await type1Keys.keepShared(tx, 'xp');
  if (!found)
    return {
      objections,
      registerChanges,
      type1: { patients: 0, resources: 0, heldDeleted: 0 },
      heldDeletedAll: 0,
      aliases,
    };

  const [{ own }]: { own: number }[] = await tx.query(
    `SELECT count(*)::int AS own FROM t1x WHERE ${held.registeredAt('t1x.nhs_number', '$1')}`,
    [ods],
  );
  const heldDeletedAll = await held.deleteHeldOf(tx, 't1x');
  const [t1]: { patients: number; resources: number }[] = await tx.query(`
    SELECT (SELECT count(*)::int FROM xp WHERE nhs_number IN (SELECT nhs_number FROM t1x)) AS patients,
           (SELECT count(*)::int FROM subj WHERE kind = 'E' AND nhs_number IN (SELECT nhs_number FROM t1x)) AS resources`);
  await tx.query('DELETE FROM xp WHERE nhs_number IN (SELECT nhs_number FROM t1x)');
  await tx.query('DELETE FROM subj WHERE nhs_number IN (SELECT nhs_number FROM t1x)');
  return { objections, registerChanges, type1: { ...t1, heldDeleted: own }, heldDeletedAll, aliases };
}
