import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  DomainError,
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
import { activeType1Among, ObjectionsService } from '@custodian/objections';
import type { ExtractReportDto, ExtractSummaryDto } from './dto';
import { NOT_JSON } from './fhir';
import { todayInEngland } from '@custodian/core';
import { HeldPatients } from './held-patients';
import { intakeContext } from './intake/context';
import { mergeRecords } from './intake/merge';
import { applyObjections } from './intake/objections';
import { extractReport } from './intake/report';
import { stageExtract } from './intake/staging';
import { resolveSubjects } from './intake/subjects';
import { tooLong } from './staging-block';
import { ParseThread } from './staging-rows';
import { isAdmin, PracticesService } from './practices.service';
import { PRACTICES_ERRORS } from './practices.errors';

/** An extract up to this size is spooled in memory, a larger one to a temp file. */
const EXTRACT_MEMORY_BYTES = 1024 * 1024;

/** Deletes what is held of anyone with an active Type 1 objection (after each extract's commit). */
export const TYPE1_SWEEP_QUEUE = 'practices.type1-sweep';

/**
 * Extract intake (SPEC §2, §7): the body spooled whole (no connection is held while the client
 * sends it), then one transaction (a failure stores nothing), serialised per practice, that runs
 * the stages of `intake/`: COPY into a TEMP staging table → subjects resolved → objection register
 * and Type 1 deletion → patients, registrations and events merged → the report; then the extract's
 * row, its audit entries and the jobs it announces.
 */
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
    private readonly held: HeldPatients,
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
    const today = todayInEngland();
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

      // The stages, in order, in this transaction (intake/): upload → subjects → objections and
      // Type 1 → patients and events → report.
      const t0 = performance.now();
      const stats = await stageExtract(qr, ods, today, spooled, this.parseThread);
      // Nothing in it (an empty body, blank lines only): no extract is recorded for it, so the
      // practice's list of extracts does not fill with empty uploads (a careless client's retries).
      const [{ any }] = await tx.query(`SELECT EXISTS (SELECT 1 FROM stg) AS any`);
      if (!any && stats.rejected.total === 0 && stats.unsupported === 0)
        throw new DomainError(
          PRACTICES_ERRORS.EXTRACT_EMPTY,
          'The extract holds no FHIR resources (an empty body, or blank lines only)',
          400,
        );
      // Not one line a JSON object (an image, a spreadsheet, a document sent by mistake): the file
      // is refused as a whole rather than recorded as an extract of every line refused (a probe
      // sent a PNG and got a report of its "lines").
      const reasons = Object.keys(stats.rejected.byReason);
      if (!any && stats.unsupported === 0 && reasons.length && reasons.every((r) => NOT_JSON.has(r)))
        throw new DomainError(
          PRACTICES_ERRORS.EXTRACT_NOT_NDJSON,
          'The body is not FHIR NDJSON: no line of it is a JSON object. Is it the right file?',
          400,
          { lines: stats.lines },
        );
      const t1 = performance.now();
      const ix = await intakeContext(tx, actor, ods, extractId);
      // Whether every line was read (none too long, none not JSON): only then can a reference be
      // known to name no Patient of the extract (intake/subjects.ts, an entry sent before).
      await resolveSubjects(ix, !reasons.some((r) => NOT_JSON.has(r) || r === tooLong(0).reason));
      const { objections, registerChanges, type1, heldDeletedAll, aliases } = await applyObjections(
        ix,
        {
          objections: this.objections,
          type1Keys: this.type1Keys,
          held: this.held,
        },
        stats.received,
      );
      const { patients, resources, retracted } = await mergeRecords(ix, stats.retracted > 0);
      const report = await extractReport(ix, stats, { patients, resources, objections, type1 });
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
            type1: { ...report.dropped.type1, heldDeletedAll },
            // Events of this practice deleted by lines recorded in error.
            retracted,
            // Pairs of numbers its records gave as one person's: an objection on either reaches both.
            aliasPairs: aliases,
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
      if (report.patients > 0 || heldDeletedAll > 0)
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
      if (e instanceof DomainError && e.code === PRACTICES_ERRORS.EXTRACT_OBJECTION_UNRESOLVED)
        await this.auditRefusal(actor, ods, e, meta);
      throw e;
    } finally {
      await qr.release();
    }
  }

  /**
   * An extract refused whole for an objection it cannot apply, on the trail after the rollback (in
   * its own transaction): the practice and the lines, by number only. It left no entry, so nobody
   * could see that a practice's objections were not reaching the register (2026-12-07).
   */
  private async auditRefusal(actor: Principal, ods: string, e: DomainError, meta?: RequestMeta) {
    const listed = (e.details?.unresolved ?? []) as { line: number }[];
    await this.audit
      .record({
        action: 'extract.refused',
        outcome: 'failure',
        actor,
        subjectType: 'practice',
        subjectId: ods,
        meta,
        details: { practiceOds: ods, code: e.code, lines: listed.map((u) => u.line) },
      })
      .catch((err: unknown) => this.logger.error({ err, practiceOds: ods }, 'extract refusal not audited'));
  }

  /**
   * Deletes what is held of anyone with an active Type 1 objection (the `practices.type1-sweep` job,
   * after each extract's commit), keeping linkage's digest of them first as an extract does. Run
   * under the register's shared lock, like an extract's merge. Returns how many patients went.
   */
  async sweepType1Held(cause: 'concurrent extracts' | 'start' = 'concurrent extracts'): Promise<number> {
    const n = await this.db.transaction(async (tx) => {
      await this.objections.lockRegisterShared(tx);
      await tx.query(`CREATE TEMP TABLE t1_sweep ON COMMIT DROP AS ${activeType1Among('patients')}`);
      const [{ found }] = await tx.query(`SELECT count(*)::int AS found FROM t1_sweep`);
      if (!found) return 0;
      await this.type1Keys.keep(tx, 't1_sweep');
      const deleted = await this.held.deleteType1Held(tx, 't1_sweep');
      // Two sweeps at once: the second finds them gone (it waited on the first's row locks).
      if (!deleted) return 0;
      await this.audit.record(
        {
          action: 'objection.type1_held_deleted',
          actor: null,
          subjectType: 'objection_register',
          subjectId: 'type1',
          details: { patients: deleted, cause },
        },
        tx,
      );
      await this.jobs.sendInTransaction(tx, RELINK_QUEUE, {});
      return deleted;
    });
    if (n > 0) this.logger.warn({ patients: n, cause }, 'Type 1 objectors held: deleted');
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
