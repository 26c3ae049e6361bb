import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  NotFoundError,
  Principal,
  RequestMeta,
  retryTransient,
  SpooledBody,
  spoolBody,
} from '@custodian/core';
import { JobsService } from '@custodian/database';
import { RELINK_QUEUE, Type1Keys } from '@custodian/linkage';
import { NotificationsService } from '@custodian/notifications';
import { activeType1Among, ObjectionsService, type RegisterChange } from '@custodian/objections';
import { MAX_LISTED_REJECTIONS, RejectionTally } from './rejections';
import type { ExtractDropped, ExtractReportDto, ExtractSummaryDto } from './dto';
import { DroppedFields, IGNORED_PREFIX, todayUtc } from './fhir';
import { ParseThread, STAGING_COLUMNS, StagingRows, StreamStats } from './staging-rows';
import { isAdmin, isUniqueViolation, PracticesService } from './practices.service';
import { PRACTICES_ERRORS } from './practices.errors';

/** Working memory for the intake's merge (transaction-local). */
const INTAKE_WORK_MEM = '128MB';

/** The number of rows a statement inserted, updated or deleted (its command tag's count). */
async function affected(tx: EntityManager, sql: string, params: unknown[]): Promise<number> {
  const result = await tx.queryRunner!.query(sql, params, true);
  return result.affected ?? 0;
}

/** An extract up to this size is spooled in memory, a larger one to a temp file. */
const EXTRACT_MEMORY_BYTES = 1024 * 1024;

/**
 * Extract intake (SPEC §2, §7): the body spooled whole (no connection is held while the client
 * sends it) → COPY into a TEMP staging table → set-based validation of
 * references → objection register → Type 1 deletion → INSERT … ON CONFLICT merge, all in one
 * transaction (a failure stores nothing), serialised per practice.
 */
/** Deletes what is held of anyone with an active Type 1 objection (after each extract's commit). */
export const TYPE1_SWEEP_QUEUE = 'practices.type1-sweep';

@Injectable()
export class ExtractsService implements OnModuleDestroy {
  private readonly logger = new Logger('Extracts');
  /** A second thread to parse extracts on (absent when running from TypeScript sources). */
  private readonly parseThread = ParseThread.forThisBuild();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly practices: PracticesService,
    private readonly objections: ObjectionsService,
    private readonly audit: AuditService,
    private readonly jobs: JobsService,
    private readonly type1Keys: Type1Keys,
    private readonly notifications: NotificationsService,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.parseThread?.close();
  }

  async intake(
    actor: Principal,
    ods: string,
    body: NodeJS.ReadableStream,
    meta?: RequestMeta,
  ): Promise<ExtractReportDto> {
    // Only the practice itself uploads; any other caller sees no such practice.
    if (actor.practiceOds !== ods) {
      // Refused unread: the client's remaining bytes are dropped briefly, then the connection closes.
      throw new NotFoundError(PRACTICES_ERRORS.PRACTICE_NOT_FOUND, 'Practice');
    }
    // Refused at once when the practice cannot take an extract now (checked again under its lock).
    this.practices.assertAcceptsExtracts(await this.practices.get(actor, ods));
    // Read whole before a pool connection, the transaction and the practice's lock are taken: a
    // client trickling its extract holds none of them meanwhile.
    const spooled = await spoolBody(body, { memoryBytes: EXTRACT_MEMORY_BYTES });
    try {
      // A merge PostgreSQL chose as a deadlock's victim (or a serialisation failure) stored nothing:
      // it runs again from the spooled body, and the client never sees it (issue 29).
      return await retryTransient(() => this.store(actor, ods, spooled, meta), {
        onRetry: (attempt, code) =>
          this.logger.warn(
            { practiceOds: ods, attempt, code },
            'extract merge retried after a transient conflict',
          ),
      });
    } finally {
      await spooled.dispose();
    }
  }

  private async store(
    actor: Principal,
    ods: string,
    spooled: SpooledBody,
    meta?: RequestMeta,
  ): Promise<ExtractReportDto> {
    const extractId = randomUUID();
    const today = todayUtc();
    const qr = this.db.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      // Statements of this upload taking a second or more, by their opening words (never values),
      // logged with the counts: where a large extract's merge spends its time.
      const slowSteps: [string, number][] = [];
      const query = qr.query.bind(qr);
      qr.query = (async (sql: string, params?: unknown[], structured?: boolean) => {
        const started = performance.now();
        try {
          return await query(sql, params, structured as never);
        } finally {
          const ms = performance.now() - started;
          if (ms >= 1000) slowSteps.push([sql.replace(/\s+/g, ' ').trim().slice(0, 60), Math.round(ms)]);
        }
      }) as typeof qr.query;
      const tx = qr.manager;
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('extract:' || $1))`, [ods]);
      const practice = await this.practices.lock(tx, ods, actor);
      this.practices.assertAcceptsExtracts(practice);

      await tx.query(`
        CREATE TEMP TABLE stg (
          line int NOT NULL, kind char(1) NOT NULL, id varchar(64) NOT NULL, subject varchar(64),
          nhs_number char(10), birth_date date, sex char(1), postcode varchar(8), ethnicity char(1),
          resource_type varchar(12), code_system varchar(8), code varchar(20), event_date date,
          value varchar(64), obj_type varchar(5), obj_action varchar(8), obj_at timestamptz,
          shared_key boolean
        ) ON COMMIT DROP`);
      const stats: StreamStats = {
        lines: 0,
        rejected: new RejectionTally(),
        unsupported: 0,
        byField: Object.create(null) as DroppedFields,
      };
      const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
      const copy = client.query(copyFrom(`COPY stg (${STAGING_COLUMNS}) FROM STDIN`));
      const t0 = performance.now();
      await pipeline(spooled.open(), new StagingRows(ods, today, stats, this.parseThread), copy);
      const t1 = performance.now();
      const { report, registerChanges } = await this.merge(tx, actor, ods, extractId, stats);
      await tx.query(
        `INSERT INTO extracts (id, practice_ods, uploaded_by, lines, patients, resources, objections, rejected, report)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          extractId,
          ods,
          actor.id,
          stats.lines,
          report.patients,
          report.resources,
          report.objections,
          report.rejectedCount,
          JSON.stringify(report),
        ],
      );
      if (registerChanges.length)
        await this.audit.record(
          {
            action: 'objection.register_change',
            actor,
            subjectType: 'extract',
            subjectId: extractId,
            meta,
            details: { source: 'extract', practiceOds: ods, changes: registerChanges },
          },
          tx,
        );
      await this.audit.record(
        {
          action: 'extract.upload',
          actor,
          subjectType: 'extract',
          subjectId: extractId,
          meta,
          details: {
            practiceOds: ods,
            lines: stats.lines,
            patients: report.patients,
            resources: report.resources,
            objections: report.objections,
            rejected: report.rejectedCount,
            droppedResources: report.dropped.resources,
            droppedFields: report.dropped.fields,
            type1: report.dropped.type1,
          },
        },
        tx,
      );
      // The practice hears of rejected lines (how many, and a link to the report; #25).
      if (report.rejectedCount > 0)
        await this.notifications.enqueue(tx, {
          kind: 'extract.rejected_lines',
          to: { practiceOds: ods },
          subject: { type: 'extract', id: extractId },
          params: { ods, lines: report.rejectedCount, id: extractId },
        });
      // Also after a Type 1 deletion: rows linked to the twin of an objector meanwhile are unlinked.
      // Enqueued in this transaction: the job exists exactly when the extract does (issue 29).
      if (report.patients > 0 || report.dropped.type1.heldDeleted > 0)
        await this.jobs.sendInTransaction(tx, RELINK_QUEUE, { extractId });
      // Two practices' extracts at once: one stores a new patient while the other registers that
      // patient's Type 1 objection; neither sees the other's rows before it commits, so both can
      // commit and the objector be held. A sweep after every commit that stores patients or
      // objections sees both, and deletes what is held of anyone with an active Type 1 objection.
      if (report.patients > 0 || report.objections > 0)
        await this.jobs.sendInTransaction(tx, TYPE1_SWEEP_QUEUE, { extractId });
      await qr.commitTransaction();
      // Counts and timings only: where an upload's time went (streaming and parsing, or the merge).
      this.logger.log(
        {
          extractId,
          practiceOds: ods,
          lines: stats.lines,
          patients: report.patients,
          resources: report.resources,
          rejected: report.rejectedCount,
          streamSeconds: +((t1 - t0) / 1000).toFixed(2),
          mergeSeconds: +((performance.now() - t1) / 1000).toFixed(2),
          slowSteps,
        },
        'extract stored',
      );
      return report;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
  }

  private async merge(
    tx: EntityManager,
    actor: Principal,
    ods: string,
    extractId: string,
    stats: StreamStats,
  ): Promise<{ report: ExtractReportDto; registerChanges: RegisterChange[] }> {
    const rejected = stats.rejected;
    // Lines the SQL refuses go to a table, counted by reason with the lowest numbers listed at the
    // end: never one object each in memory (a million events without a Patient would be a million).
    // Each statement's last `SELECT line, reason` becomes the insert.
    await tx.query(`CREATE TEMP TABLE rej (line int NOT NULL, reason text NOT NULL) ON COMMIT DROP`);
    const sqlRejected = async (sql: string, params: unknown[] = []) => {
      const at = sql.lastIndexOf('SELECT line,');
      await tx.query(`${sql.slice(0, at)}INSERT INTO rej (line, reason) ${sql.slice(at)}`, params);
    };
    // The sorts and hashes over a whole extract's rows (DISTINCT ON, the subject joins) then stay
    // in memory instead of spilling to disk: 800k events sort in ~60 MB.
    await tx.query(`SELECT set_config('work_mem', $1, true)`, [INTAKE_WORK_MEM]);
    await tx.query('ANALYZE stg');

    // Patients of this extract: the last line of each resource id wins.
    await tx.query(`
      CREATE TEMP TABLE xp ON COMMIT DROP AS
      SELECT DISTINCT ON (id) line, id, nhs_number, birth_date, sex, postcode, ethnicity,
             coalesce(shared_key, false) AS shared_key
        FROM stg WHERE kind = 'P' ORDER BY id, line DESC`);
    await tx.query('CREATE INDEX ON xp (id)');
    await tx.query('ANALYZE xp');

    // Every clinical entry and objection resolved to an NHS number: a Patient of this extract (any
    // of its records, duplicates included: they are resolved before being refused, below), or one
    // registered with this practice (by the practice's own id, whichever practice is current). Two
    // records of one NHS number are one patient (SPEC §2): an objection on either applies.
    await tx.query(
      `CREATE TEMP TABLE subj ON COMMIT DROP AS
       SELECT s.line, s.kind, s.id, s.resource_type, s.code_system, s.code, s.event_date, s.value,
              s.obj_type, s.obj_action, s.obj_at, COALESCE(xp.nhs_number, held.nhs_number, s.nhs_number) AS nhs_number
         FROM stg s
         LEFT JOIN xp ON xp.id = s.subject
         LEFT JOIN LATERAL (
           SELECT p.nhs_number FROM patient_registrations r JOIN patients p ON p.id = r.patient_id
            WHERE r.practice_ods = $1 AND r.source_id = s.subject
            ORDER BY r.received_at DESC LIMIT 1
         ) held ON xp.id IS NULL
        WHERE s.kind IN ('E', 'O')`,
      [ods],
    );
    await sqlRejected(`SELECT line, 'subject: no such Patient in this extract or held for this practice' AS reason
                         FROM subj WHERE nhs_number IS NULL`);
    await tx.query('DELETE FROM subj WHERE nhs_number IS NULL');
    await tx.query('ANALYZE subj');

    // Subjects resolved: of two Patient resources with one NHS number, the later line is stored and
    // the earlier refused (what either's entries name is the NHS number's, above).
    await sqlRejected(`
      WITH keep AS (SELECT DISTINCT ON (nhs_number) line FROM xp ORDER BY nhs_number, line DESC),
      gone AS (DELETE FROM xp WHERE line NOT IN (SELECT line FROM keep) RETURNING line)
      SELECT line, 'Patient: a later line has the same NHS number' AS reason FROM gone`);

    // From here to the commit, API objection calls wait (and this waits for one in progress): the
    // Type 1 check below and the merge see the register as it will stay until this commits.
    await this.objections.lockRegisterShared(tx);
    // Objection entries join the history once, at their instant (re-sending adds nothing), then the
    // register follows: the latest instant decides, an exact tie to the objection (refreshRegister).
    const objections = await this.objections.recordExtractEntries(
      tx,
      `(SELECT nhs_number, obj_type AS type, obj_action AS action, obj_at AS effective_at, line
          FROM subj WHERE kind = 'O')`,
      { extractId, ods, actorId: actor.id },
    );
    await tx.query(
      `CREATE TEMP TABLE xo ON COMMIT DROP AS SELECT DISTINCT nhs_number FROM subj WHERE kind = 'O'`,
    );
    // Audited at the end of the upload's transaction, with the extract: an entry appended here would
    // hold the audit chain's lock (every audited action in the service) through the whole merge.
    const registerChanges = await this.objections.refreshRegister(tx, 'xo');

    // Locks in one order in every path (issue 29): the register's rows (just above, by NHS number),
    // then the patients this extract names, by id, before any registration, event or deletion. A
    // concurrent extract whose Type 1 objection deletes one of them (patient, then registrations and
    // events by cascade) either finishes first — this extract then sees its objection, below — or
    // waits for this one to commit. Without it the merge locked a registration and then its
    // patient, the deletion the patient and then the registration: a deadlock.
    await tx.query(`
      SELECT p.id FROM patients p
       WHERE p.nhs_number IN (SELECT nhs_number FROM xp UNION SELECT nhs_number FROM subj)
       ORDER BY p.id FOR NO KEY UPDATE OF p`);

    // Type 1 defence in depth: nobody with an active Type 1 objection is stored, and what was held
    // for them goes, in this transaction.
    await tx.query(
      `CREATE TEMP TABLE t1 ON COMMIT DROP AS
       ${activeType1Among('(SELECT nhs_number FROM xp UNION SELECT nhs_number FROM subj)')}`,
    );
    // Linkage keeps what it needs to count them as candidates still (from what is held of them and
    // what this extract carries), and forgets those whose Type 1 objection is no longer active.
    await this.type1Keys.keep(tx, 't1', 'xp');
    await this.type1Keys.forget(tx, '(SELECT nhs_number FROM xo EXCEPT SELECT nhs_number FROM t1)');
    // Patients the extractor marked as having a Type 1 objector's sex, DOB and postcode (a twin never
    // held): one more person with that key; unmarked in this extract, no longer (issue #26).
    await this.type1Keys.keepShared(tx, 'xp');
    const heldDeleted = await this.objections.deleteType1Held(tx, 't1');
    const [t1] = await tx.query(`
      SELECT (SELECT count(*)::int FROM xp WHERE nhs_number IN (SELECT nhs_number FROM t1)) AS patients,
             (SELECT count(*)::int FROM subj WHERE kind = 'E' AND nhs_number IN (SELECT nhs_number FROM t1)) AS resources`);
    await tx.query('DELETE FROM xp WHERE nhs_number IN (SELECT nhs_number FROM t1)');
    await tx.query('DELETE FROM subj WHERE nhs_number IN (SELECT nhs_number FROM t1)');

    // A Patient without a birth date can only be a reference (objection marker, or a patient already
    // registered with this practice: its registration is then left as it is).
    await sqlRejected(
      `WITH gone AS (
         DELETE FROM xp WHERE birth_date IS NULL AND NOT EXISTS (
           SELECT 1 FROM patients p JOIN patient_registrations r ON r.patient_id = p.id AND r.practice_ods = $1
            WHERE p.nhs_number = xp.nhs_number)
         RETURNING line)
       SELECT line, 'Patient.birthDate: missing' AS reason FROM gone`,
      [ods],
    );

    // Registrations (SPEC §2): one per (patient, practice), holding what this practice sent; the
    // `patients` row (one per NHS number) carries the current registration's demographics, the
    // current registration being the one most recently received in an extract. Found before the
    // merge: whether any person of this extract is known to the centre at all (if not, each new
    // `patients` row is already its only registration's), and whether this practice holds anyone
    // (if not, none of its events can be stored yet: they go in without ON CONFLICT, below).
    const [{ known, firstExtract }]: { known: boolean; firstExtract: boolean }[] = await tx.query(
      `SELECT EXISTS (SELECT 1 FROM xp JOIN patients p ON p.nhs_number = xp.nhs_number) AS known,
              NOT EXISTS (SELECT 1 FROM patient_registrations WHERE practice_ods = $1) AS "firstExtract"`,
      [ods],
    );
    // People new to the centre: their row, with this (their only) registration's demographics.
    const created = await affected(
      tx,
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id, extract_id)
       SELECT nhs_number, birth_date, sex, postcode, ethnicity, $1, id, $2::uuid FROM xp WHERE birth_date IS NOT NULL
        ORDER BY nhs_number -- two extracts adding the same people take their keys in one order
       ON CONFLICT (nhs_number) DO NOTHING`,
      [ods, extractId],
    );
    // Everyone new, and every row created here (none stored by another practice's extract meanwhile):
    // each `patients` row is already its only registration's.
    const [{ stored }]: { stored: number }[] = await tx.query(
      `SELECT count(*)::int AS stored FROM xp WHERE birth_date IS NOT NULL`,
    );
    const allNew = !known && created === stored;
    // This practice's registrations: new ones, changed ones, and unchanged ones that are not the
    // current registration (received again, they become the latest). An unchanged re-send of the
    // current registration writes nothing. Rows inserted or changed: the report's `patients`.
    const upsertRegistrations = `INSERT INTO patient_registrations AS r
         (patient_id, practice_ods, source_id, birth_date, sex, postcode, ethnicity, extract_id, received_at)
       SELECT p.id, $1, xp.id, xp.birth_date, xp.sex, xp.postcode, xp.ethnicity, $2::uuid, statement_timestamp()
         FROM xp JOIN patients p ON p.nhs_number = xp.nhs_number
        WHERE xp.birth_date IS NOT NULL
       ON CONFLICT (patient_id, practice_ods) DO UPDATE SET
         source_id = excluded.source_id, birth_date = excluded.birth_date, sex = excluded.sex,
         postcode = excluded.postcode, ethnicity = excluded.ethnicity, extract_id = excluded.extract_id,
         received_at = excluded.received_at
       WHERE (r.birth_date, r.sex, r.postcode, r.ethnicity, r.source_id)
             IS DISTINCT FROM (excluded.birth_date, excluded.sex, excluded.postcode, excluded.ethnicity, excluded.source_id)
          OR EXISTS (SELECT 1 FROM patients c WHERE c.id = r.patient_id AND c.practice_ods <> r.practice_ods)`;
    let patients: number;
    if (allNew) patients = await affected(tx, upsertRegistrations, [ods, extractId]);
    else {
      // The registrations just written are the latest: their patients' rows follow them.
      const [row]: { n: number }[] = await tx.query(
        `WITH reg AS (${upsertRegistrations}
           RETURNING r.patient_id, r.source_id, r.birth_date, r.sex, r.postcode, r.ethnicity),
         cur AS (
           UPDATE patients p SET birth_date = reg.birth_date, sex = reg.sex, postcode = reg.postcode,
                  ethnicity = reg.ethnicity, practice_ods = $1, source_id = reg.source_id,
                  extract_id = $2::uuid, updated_at = now()
             FROM reg
            WHERE p.id = reg.patient_id
              AND (p.birth_date, p.sex, p.postcode, p.ethnicity, p.practice_ods, p.source_id)
                  IS DISTINCT FROM (reg.birth_date, reg.sex, reg.postcode, reg.ethnicity, $1::char(6), reg.source_id))
         SELECT count(*)::int AS n FROM reg`,
        [ods, extractId],
      );
      patients = row.n;
    }

    // Entries whose Patient was not stored (refused above) are refused too; the rest are merged.
    await sqlRejected(
      `WITH gone AS (
         DELETE FROM subj s WHERE s.kind = 'E' AND NOT EXISTS (
           SELECT 1 FROM patients p JOIN patient_registrations r ON r.patient_id = p.id AND r.practice_ods = $1
            WHERE p.nhs_number = s.nhs_number)
         RETURNING line)
       SELECT line, 'subject: its Patient was not stored' AS reason FROM gone`,
      [ods],
    );
    // The events, this practice's (another practice's rows are never touched, whatever their
    // resource ids): the last line of each resource wins, merged into what is stored. Of a
    // practice's first extract nothing can be stored yet, so they go in without ON CONFLICT's
    // speculative insertion (a fifth of the insert's cost on 1M events, measured). Extracts of one
    // practice are serialised, so none can meet a stored row; should one all the same, the
    // savepoint takes the plain insert back and the merge does it instead.
    const events = (merge: boolean) =>
      affected(
        tx,
        `WITH src AS (
           SELECT DISTINCT ON (p.id, s.resource_type, s.id)
                  p.id AS patient_id, s.resource_type, s.id, s.code_system, s.code, s.event_date, s.value
             FROM subj s JOIN patients p ON p.nhs_number = s.nhs_number
            WHERE s.kind = 'E'
            ORDER BY p.id, s.resource_type, s.id, s.line DESC
         )
         INSERT INTO gp_events AS g (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date, value, extract_id)
         SELECT patient_id, $1, resource_type, id, code_system, code, event_date, value, $2::uuid FROM src${
           merge
             ? `
         ON CONFLICT (patient_id, practice_ods, resource_type, resource_id) DO UPDATE SET
           code_system = excluded.code_system, code = excluded.code, event_date = excluded.event_date,
           value = excluded.value, extract_id = excluded.extract_id
         WHERE (g.code_system, g.code, g.event_date, g.value)
               IS DISTINCT FROM (excluded.code_system, excluded.code, excluded.event_date, excluded.value)`
             : ''
         }`,
        [ods, extractId],
      );
    let resources: number;
    if (!firstExtract) resources = await events(true);
    else {
      await tx.query('SAVEPOINT first_extract_events');
      try {
        resources = await events(false);
        await tx.query('RELEASE SAVEPOINT first_extract_events');
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        await tx.query('ROLLBACK TO SAVEPOINT first_extract_events');
        resources = await events(true);
        this.logger.log({ extractId }, "a first extract's events met stored rows: merged");
      }
    }

    const counted = Object.entries(stats.byField).sort(([a], [b]) => a.localeCompare(b));
    const byField = Object.fromEntries(counted.filter(([k]) => !k.startsWith(IGNORED_PREFIX)));
    const ignored = Object.fromEntries(
      counted
        .filter(([k]) => k.startsWith(IGNORED_PREFIX))
        .map(([k, n]) => [k.slice(IGNORED_PREFIX.length), n]),
    );
    const dropped: ExtractDropped = {
      resources: stats.unsupported,
      fields: Object.values(byField).reduce((a, b) => a + b, 0),
      byField,
      type1: { patients: t1.patients, resources: t1.resources, heldDeleted },
    };
    const refused: { reason: string; n: number; lowest: number[] }[] = await tx.query(
      `SELECT reason, count(*)::int AS n, (array_agg(line ORDER BY line))[1:${MAX_LISTED_REJECTIONS}] AS lowest
         FROM rej GROUP BY reason`,
    );
    for (const r of refused) rejected.addCounted(r.reason, r.n, r.lowest);
    return {
      report: {
        extractId,
        patients,
        resources,
        rejected: rejected.lines(),
        rejectedCount: rejected.total,
        rejectedByReason: { ...rejected.byReason },
        objections,
        dropped,
        ignored,
        warnings: stats.warnings ?? [],
      },
      registerChanges,
    };
  }

  /** A stored report: the uploading practice, admins and data managers; anyone else 404. */
  /**
   * Deletes what is held of anyone with an active Type 1 objection (the `practices.type1-sweep` job,
   * after each extract's commit), keeping linkage's digest of them first as an extract does. Run
   * under the register's shared lock, like an extract's merge. Returns how many patients went.
   */
  async sweepType1Held(): Promise<number> {
    const n = await this.db.transaction(async (tx) => {
      await this.objections.lockRegisterShared(tx);
      await tx.query(`CREATE TEMP TABLE t1_sweep ON COMMIT DROP AS ${activeType1Among('patients')}`);
      const [{ found }] = await tx.query(`SELECT count(*)::int AS found FROM t1_sweep`);
      if (!found) return 0;
      await this.type1Keys.keep(tx, 't1_sweep');
      const deleted = await this.objections.deleteType1Held(tx, 't1_sweep');
      // Two sweeps at once: the second finds them gone (it waited on the first's row locks).
      if (!deleted) return 0;
      await this.audit.record(
        {
          action: 'objection.type1_held_deleted',
          actor: null,
          subjectType: 'objection_register',
          subjectId: 'type1',
          details: { patients: deleted, cause: 'concurrent extracts' },
        },
        tx,
      );
      await this.jobs.sendInTransaction(tx, RELINK_QUEUE, {});
      return deleted;
    });
    if (n > 0) this.logger.warn({ patients: n }, 'Type 1 objectors held after concurrent extracts: deleted');
    return n;
  }

  /** The extracts of one practice, newest first (the practice itself, admins and data managers). */
  async list(actor: Principal, ods: string): Promise<ExtractSummaryDto[]> {
    const wide = isAdmin(actor) || actor.roles.includes('data_manager');
    if (!wide && actor.practiceOds !== ods)
      throw new NotFoundError(PRACTICES_ERRORS.PRACTICE_NOT_FOUND, 'Practice');
    return this.db.query(
      `SELECT id AS "extractId", created_at AS "createdAt", lines, patients, resources, objections,
              rejected AS "rejectedCount",
              COALESCE(jsonb_array_length(report->'warnings'), 0)::int AS warnings
         FROM extracts WHERE practice_ods = $1
        ORDER BY created_at DESC, id
        LIMIT 200`,
      [ods],
    );
  }

  async get(actor: Principal, id: string): Promise<ExtractReportDto> {
    const wide = isAdmin(actor) || actor.roles.includes('data_manager');
    const rows: { report: ExtractReportDto }[] = await this.db.query(
      `SELECT report FROM extracts WHERE id = $1 AND ($2 OR practice_ods = $3)`,
      [id, wide, actor.practiceOds],
    );
    if (!rows.length) throw new NotFoundError(PRACTICES_ERRORS.EXTRACT_NOT_FOUND, 'Extract');
    return rows[0].report;
  }
}
