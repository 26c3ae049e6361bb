import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { Principal, RequestMeta, retryTransient } from '@custodian/core';
import { Type1Keys } from '@custodian/linkage';
import { HELD_GP_DATA, type HeldGpData } from './held-data';
import type { ObjectionAction, ObjectionType } from './objection-codes';
import { objectionNotFound } from './objections.errors';
import { activeType1Among, liveRegistrations, refreshRegisterSql, withAliases } from './objections.sql';

export interface RegisterChange {
  type: ObjectionType;
  active: boolean;
  n: number;
}

export interface RecordObjectionInput {
  nhsNumber: string;
  type: ObjectionType;
  action: ObjectionAction;
}

export interface ObjectionSummary {
  active: { type1: number; type2: number };
  recorded: { register: number; withdraw: number; fromExtracts: number; fromApi: number };
}

export interface RecordedObjection {
  id: string;
  type: ObjectionType;
  action: ObjectionAction;
  effectiveOn: string;
  effectiveAt: string;
  active: boolean;
  heldRecordsDeleted: number;
}

/**
 * The objection register: `objection_events` is the history (who, when, source), and
 * `objection_register` the current state per NHS number and type, always recomputed from the
 * history with the same rule as the SQL function `objections_as_of(ts)` (SPEC §2): an objection is
 * in force while one of its registrations stands — one stands unless a withdrawal of a strictly
 * later instant (`effective_at`, UTC to the second: an extract entry's; an API call's time
 * received, cut to its second on insert) cancels it, and a withdrawal cancels only what its
 * practice may withdraw (its own practice's, or those recorded since it first registered the
 * patient: objections.sql.ts `cancels`), however late it arrived. On an exact tie the
 * registration stands.
 */
@Injectable()
export class ObjectionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly type1Keys: Type1Keys,
    @Inject(HELD_GP_DATA) private readonly held: HeldGpData,
  ) {}

  /**
   * The register's barrier, held until the end of the caller's transaction. An extract takes it
   * shared before it records objections, checks Type 1 and merges (extracts run side by side); an
   * API call takes it exclusive (`record`), so it waits for the extracts already past that point to
   * commit — its Type 1 deletion then sees what they stored — and the extracts after it see its
   * objection in the register. Without it an extract could store a person for the first time just
   * after an API Type 1 registration had deleted everything held for them.
   */
  async lockRegisterShared(em: EntityManager): Promise<void> {
    await em.query(`SELECT pg_advisory_xact_lock_shared(hashtext('objection-register'))`);
  }

  /**
   * A practice's earlier extract withdrawals for the NHS numbers in `carried` (a relation with an
   * `nhs_number` column: the patients whose record the extract carries, by their Patient line) that
   * the extract's entries (`entries`, as for `recordExtractEntries`) do not carry again: retracted
   * (`retracted_at`), so they stop lifting objections (`cancels`, `objections_as_of`; fail closed;
   * a review, 2026-12-07: one the practice marked entered-in-error kept the objection lifted). So are
   * those of a type the extract registers for the patient without their Patient line — SPEC §2's
   * marker of a Type 1 objector ("NHS number + objection code"): it carries their objections of that
   * type, and a withdrawal the practice took back was never retracted (review-23). Never a
   * registration or an API entry. Creates the temporary table `into` of the NHS numbers concerned, for
   * `refreshRegister`.
   */
  async retractMissingWithdrawals(
    em: EntityManager,
    ods: string,
    carried: string,
    entries: string,
    into: string,
  ): Promise<void> {
    await em.query(
      `CREATE TEMP TABLE ${into} ON COMMIT DROP AS
       WITH gone AS (
         UPDATE objection_events e SET retracted_at = now()
          WHERE e.source = 'extract' AND e.practice_ods = $1 AND e.action = 'withdraw' AND e.retracted_at IS NULL
            AND (e.nhs_number IN (SELECT nhs_number FROM ${carried})
                 OR EXISTS (SELECT 1 FROM ${entries} r WHERE r.nhs_number = e.nhs_number AND r.type = e.type
                               AND r.action = 'register'))
            AND NOT EXISTS (SELECT 1 FROM ${entries} x WHERE x.nhs_number = e.nhs_number AND x.type = e.type
                               AND x.action = 'withdraw' AND x.effective_at = e.effective_at)
         RETURNING e.nhs_number)
       SELECT DISTINCT nhs_number FROM gone`,
      [ods],
    );
  }

  /**
   * An extract's objection entries join the history, once each at their instant (re-sending the
   * extract adds nothing: an entry of the same NHS number, type, action and instant from an extract
   * is already there); of the same entry twice in one extract the later line is kept. `entries` is a
   * relation or parenthesised sub-query with columns `nhs_number`, `type`, `action`, `effective_at`,
   * `line`, `at_received` (a registration read at the time received, SPEC §2) and `resource_id`
   * (the entry's key: its resource type, id and date elements, hashed — libs/practices
   * objection-key.ts — or null). Such a registration is its resource's first receipt
   * (SPEC §2: re-sending is idempotent "by patient + resource id"): this practice's entry of the
   * same patient, type and resource read at its time received is that entry, and it is not added
   * again (it was added at each upload's time: the same extract re-sent duplicated the history). An
   * entry of another resource, or of none, is a new one (review-20: told apart by practice, patient
   * and type alone, a patient's new objection was taken for the old one and a withdrawal dated
   * between the two lifted it). The caller holds `lockRegisterShared` and calls `refreshRegister`
   * after. Returns how many entries were added.
   */
  async recordExtractEntries(
    em: EntityManager,
    entries: string,
    source: { extractId: string; ods: string; actorId: string },
  ): Promise<number> {
    // A withdrawal carries the practice's authority over other practices' objections: since when it
    // has been the patient's current practice, if it is (objections.sql.ts `cancels`), read before
    // this extract's merge. A patient new to the practice, or another practice's current patient,
    // gives none: the withdrawal then withdraws the practice's own objections only.
    const [{ n }]: { n: number }[] = await em.query(
      `WITH ins AS (
         INSERT INTO objection_events (nhs_number, type, action, effective_at, source, source_ref, practice_ods, recorded_by, holder_since, at_received, resource_id)
         SELECT x.nhs_number, x.type, x.action, x.effective_at, 'extract', $1, $2::char(6), $3::uuid,
                CASE WHEN x.action = 'withdraw' THEN ${this.held.currentSinceOf('x.nhs_number', '$2::char(6)')} END,
                x.at_received, x.resource_id
           FROM (
             SELECT DISTINCT ON (s.nhs_number, s.type, s.action, s.effective_at, s.resource_id)
                    s.nhs_number, s.type, s.action, s.effective_at, s.line, s.at_received, s.resource_id
               FROM ${entries} s
              WHERE NOT EXISTS (
                SELECT 1 FROM objection_events e
                 WHERE e.nhs_number = s.nhs_number AND e.type = s.type AND e.action = s.action
                   AND e.effective_at = s.effective_at AND e.source = 'extract'
                   AND e.practice_ods IS NOT DISTINCT FROM $2::char(6)
                   -- a withdrawal retracted and carried again is a new entry (review-19: it never
                   -- applied again)
                   AND e.retracted_at IS NULL)
                AND NOT (s.at_received AND s.resource_id IS NOT NULL AND EXISTS (
                  SELECT 1 FROM objection_events e
                   WHERE e.nhs_number = s.nhs_number AND e.type = s.type AND e.action = 'register'
                     AND e.at_received AND e.source = 'extract' AND e.practice_ods = $2::char(6)
                     AND e.resource_id = s.resource_id))
              ORDER BY s.nhs_number, s.type, s.action, s.effective_at, s.resource_id, s.line DESC
           ) x
          ORDER BY x.line
         RETURNING nhs_number)
       SELECT count(*)::int AS n FROM ins`,
      [source.extractId, source.ods, source.actorId],
    );
    return n;
  }

  /**
   * Recomputes the register rows of every NHS number listed in `table` (a table or temp table with
   * an `nhs_number` column) from the history. Returns how many rows changed, by type and new state.
   */
  async refreshRegister(em: EntityManager, table: string): Promise<RegisterChange[]> {
    // One refresh of an NHS number at a time, to the commit, in NHS-number order: a second extract's
    // refresh then reads the history once the first has committed (a new snapshot per statement).
    // Two practices' extracts refreshing one NHS number at once wrote the later's stale reading over
    // the earlier's (review-19 R19-7: the register said lifted where the history said in force).
    await em.query(
      `SELECT pg_advisory_xact_lock(hashtextextended('objection_register:' || n, 0))
         FROM (SELECT DISTINCT nhs_number AS n FROM ${table} ORDER BY 1) t`,
    );
    const rows: { type: ObjectionType; active: boolean; n: number }[] = await em.query(
      refreshRegisterSql(table),
    );
    return rows;
  }

  /**
   * A practice registers or withdraws an objection (SPEC §2, §7 `POST /api/objections`), effective
   * today. Any practice may register one, for any valid NHS number, held or not (objections often
   * precede the first extract): the answer is the same either way. A practice may withdraw only an
   * objection in force that it recorded itself (through the API or its extracts) or, for its current
   * patient, one recorded while it has been their current practice without a break; anything else —
   * another practice's, nothing in force, an NHS number never seen — is the one answer
   * `objectionNotFound()`, after the same queries, writing nothing. The answer's `active` is what the
   * caller may know: the register for its current patient, else whether an objection of its own
   * stands. Audited with the event id and the register's state, never the NHS number.
   */
  /**
   * What a practice sees of the register, counts only: the active objections (by type) of patients
   * currently registered with it, or in force by a registration of its own, and the entries it
   * recorded (by source and action). Nothing about another practice's patients; no NHS number.
   */
  async summary(actor: Principal): Promise<ObjectionSummary> {
    const ods = actor.practiceOds;
    if (!ods) throw objectionNotFound();
    const [row]: ObjectionSummary[] = await this.db.query(
      `SELECT json_build_object(
                'type1', count(*) FILTER (WHERE g.type = 'type1'),
                'type2', count(*) FILTER (WHERE g.type = 'type2')) AS active,
              (SELECT json_build_object(
                 'register', count(*) FILTER (WHERE e.action = 'register'),
                 'withdraw', count(*) FILTER (WHERE e.action = 'withdraw'),
                 'fromExtracts', count(*) FILTER (WHERE e.source = 'extract'),
                 'fromApi', count(*) FILTER (WHERE e.source = 'api'))
                 FROM objection_events e WHERE e.practice_ods = $1) AS recorded
         FROM objection_register g
        WHERE g.active
          AND (${this.held.heldAt('g.nhs_number', '$1')}
               -- or an objection of its own stands (not one it withdrew while another's stands: that
               -- would tell the other exists; a review)
               OR EXISTS (${liveRegistrations(`r.nhs_number = g.nhs_number AND r.type = g.type AND r.practice_ods = $1`)}))`,
      [ods],
    );
    return row;
  }

  async record(
    actor: Principal,
    input: RecordObjectionInput,
    meta?: RequestMeta,
  ): Promise<RecordedObjection> {
    const ods = actor.practiceOds;
    if (!ods) throw objectionNotFound();
    // A deadlock victim stored nothing: run again, the client never sees it (issue 29).
    return retryTransient(() => this.recordOnce(actor, ods, input, meta));
  }

  private recordOnce(
    actor: Principal,
    ods: string,
    input: RecordObjectionInput,
    meta?: RequestMeta,
  ): Promise<RecordedObjection> {
    return this.db.transaction(async (tx) => {
      // Serialise with other API calls for this NHS number, then with the extracts that are
      // recording objections or merging (the register's barrier, see lockRegisterShared), whichever
      // practice's, so an objection cannot slip between an extract's Type 1 check and its merge.
      // (Never an extract's own lock: an extract takes the barrier while holding that one.)
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('objection:' || $1))`, [input.nhsNumber]);
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('objection-register'))`);
      // Asked whatever the action, so registering and withdrawing do the same work.
      // What the practice may withdraw (SPEC §2): an objection it recorded, or — the patient being
      // its current patient — one recorded while it has been their current practice, without a break
      // (objections.sql.ts `cancels`; not one recorded before, which an upload of the patient made
      // just for this, or a re-send by a former practice, would otherwise lift: an outsider's probe
      // and a review). The withdrawal carries that authority (`holder_since`).
      const [may]: { registered: boolean; current: boolean; since: Date | null; withdraws: boolean }[] =
        await tx.query(
          `WITH h AS (
             SELECT ${this.held.registeredAt('$1', '$2')} AS registered, ${this.held.heldAt('$1', '$2')} AS current,
                    ${this.held.currentSinceOf('$1', '$2')} AS since)
           SELECT h.registered, h.current, h.since,
                  EXISTS (${liveRegistrations(`r.nhs_number = $1 AND r.type = $3`)}
                            AND (r.practice_ods = $2 OR h.since <= r.recorded_at)) AS withdraws
             FROM h`,
          [input.nhsNumber, ods, input.type],
        );
      if (input.action === 'withdraw' && !may.withdraws) throw objectionNotFound();
      const [event]: { id: string; effective_on: string; effective_at: string }[] = await tx.query(
        `INSERT INTO objection_events (nhs_number, type, action, effective_at, source, source_ref, practice_ods, recorded_by, holder_since)
         VALUES ($1, $2, $3, now(), 'api', NULL, $4, $5, $6::timestamptz)
         RETURNING id::text AS id, to_char(effective_on, 'YYYY-MM-DD') AS effective_on,
                   to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS effective_at`,
        [
          input.nhsNumber,
          input.type,
          input.action,
          ods,
          actor.id,
          input.action === 'withdraw' ? may.since : null,
        ],
      );
      await tx.query('CREATE TEMP TABLE objection_subject (nhs_number char(10)) ON COMMIT DROP');
      await tx.query('INSERT INTO objection_subject VALUES ($1)', [input.nhsNumber]);
      const changes = await this.refreshRegister(tx, 'objection_subject');
      // Linkage keeps what it needs to count a Type 1 objector as a candidate before their data goes
      // (keyed digests, no clinical data). A withdrawal keeps them: nothing of the person is held
      // until their practice sends them again, and the intake forgets the digests when it stores them.
      // The number and every number a practice's record gave beside it (review-28): one person's.
      await tx.query(
        `CREATE TEMP TABLE objection_reach ON COMMIT DROP AS ${withAliases('objection_subject')}`,
      );
      if (input.type === 'type1') await this.type1Keys.keep(tx, `(${activeType1Among('objection_reach')})`);
      // A Type 1 objection deletes the GP data of every registration, under any of its numbers; the
      // answer counts only the caller's own (1 when it had one), so it tells no practice whether
      // another holds the number.
      const deleted = input.type === 'type1' ? await this.held.deleteType1Held(tx, 'objection_reach') : 0;
      const heldRecordsDeleted = deleted > 0 && may.registered ? 1 : 0;
      const [state]: { active: boolean; seen: boolean }[] = await tx.query(
        `SELECT g.active,
                -- What the caller may know of it: the register, for its current patient; else whether
                -- an objection of its own stands (another practice's would tell that it exists: a review).
                CASE WHEN $3::boolean THEN g.active
                     ELSE EXISTS (${liveRegistrations(`r.nhs_number = $1 AND r.type = $2 AND r.practice_ods = $4`)}) END AS seen
           FROM objection_register g WHERE g.nhs_number = $1 AND g.type = $2`,
        [input.nhsNumber, input.type, may.current, ods],
      );
      await this.audit.record(
        {
          action: 'objection.record',
          actor,
          subjectType: 'objection_event',
          subjectId: event.id,
          meta,
          details: {
            source: 'api',
            practiceOds: ods,
            type: input.type,
            action: input.action,
            registerChanged: changes.length > 0,
            active: state.active,
            heldRecordsDeleted: deleted,
          },
        },
        tx,
      );
      return {
        id: event.id,
        type: input.type,
        action: input.action,
        effectiveOn: event.effective_on,
        effectiveAt: event.effective_at,
        active: state.seen,
        heldRecordsDeleted,
      };
    });
  }
}
