import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { NotificationsService } from '@custodian/notifications';
import {
  NotFoundError,
  Principal,
  RequestMeta,
  SpooledBody,
  spoolBody,
  todayInEngland,
  ValidationError,
} from '@custodian/core';
import { LinkageReport, SourceLoadSummary } from './dto';
import { CsvRecords } from './csv-records';
import { CsvHeaderInvalidError, CsvMalformedError } from './linkage.errors';
import { Exec, LINKAGE_LOCK_KEY, LINKAGE_WORK_MEM, runLinkage } from './linkage.sql';
import { SOURCE_FORMATS, SOURCE_TODAY_SETTING, SourceKind } from './source-formats';
import { relinkTable } from './relink.sql';
import { Type1Keys } from './type1-keys.service';
import { LINKED_SOURCES } from './type1-keys.sql';
import { LINKAGE_ERRORS } from './linkage.errors';

const RAW_COLUMNS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'];

interface PgError {
  code?: string;
  where?: string;
}

/** A database connection held for one load: the raw client (for COPY) and its TypeORM manager (for audit). */
export async function withClient<T>(
  db: DataSource,
  work: (client: PoolClient, exec: Exec, em: EntityManager) => Promise<T>,
): Promise<T> {
  const qr = db.createQueryRunner();
  await qr.connect();
  const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
  const exec: Exec = async (sql, params) => (await client.query(sql, params)).rows;
  try {
    await qr.startTransaction();
    const result = await work(client, exec, qr.manager);
    await qr.commitTransaction();
    return result;
  } catch (e) {
    if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
    throw e;
  } finally {
    await qr.release();
  }
}

/** A file up to this size is spooled in memory, a larger one to a temp file. */
const SOURCE_MEMORY_BYTES = 1024 * 1024;

/**
 * Loads a HES or social-care CSV: spooled whole first (no connection, and not the linkage lock that
 * every load and re-link takes, is held while the client sends it), then streamed with COPY into a
 * TEMP staging table, validated in one SQL statement, linked with the eight-step algorithm,
 * upserted by the source's key, reported and audited — all in one transaction, so a failed load
 * leaves nothing behind.
 */
/** How many rejected rows a load's report lists (the lowest row numbers); all are counted. */
export const MAX_LISTED_REJECTED_ROWS = 1000;

@Injectable()
export class SourceLoadService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly type1: Type1Keys,
    private readonly notifications: NotificationsService,
  ) {}

  async load(
    actor: Principal,
    kind: SourceKind,
    body: NodeJS.ReadableStream,
    meta?: RequestMeta,
  ): Promise<LinkageReport> {
    const format = SOURCE_FORMATS[kind];
    const spooled = await spoolBody(body, { memoryBytes: SOURCE_MEMORY_BYTES });
    try {
      return await this.store(actor, kind, format, spooled, meta);
    } finally {
      await spooled.dispose();
    }
  }

  private store(
    actor: Principal,
    kind: SourceKind,
    format: (typeof SOURCE_FORMATS)[SourceKind],
    spooled: SpooledBody,
    meta?: RequestMeta,
  ): Promise<LinkageReport> {
    return withClient(this.db, async (client, exec, em) => {
      // Loads and re-link runs take turns, so neither misses rows or patients the other commits.
      await exec('SELECT pg_advisory_xact_lock($1)', [LINKAGE_LOCK_KEY]);
      await exec(`SELECT set_config('work_mem', $1, true)`, [LINKAGE_WORK_MEM]);
      await exec(`DROP TABLE IF EXISTS source_stage_raw, source_stage`);
      await exec(
        `CREATE TEMP TABLE source_stage_raw (row_no bigint GENERATED ALWAYS AS IDENTITY, ${RAW_COLUMNS.map((c) => `${c} text`).join(', ')}) ON COMMIT DROP`,
      );
      await this.copyIn(client, spooled.open(), format.columns);

      const [header] = await exec(`SELECT ${RAW_COLUMNS.join(', ')} FROM source_stage_raw WHERE row_no = 1`);
      if (!header) throw new CsvHeaderInvalidError(format.columns, 'The file is empty');
      const got = RAW_COLUMNS.map((c) =>
        String(header[c] ?? '')
          .replace(/^\uFEFF/, '')
          .trim()
          .toUpperCase(),
      );
      if (got.join(',') !== format.columns.join(','))
        throw new CsvHeaderInvalidError(format.columns, 'The header does not match');

      // A header and no rows: no load is recorded (a careless client's retries filled the list of
      // loads with empty ones; an outsider's probe, 2026-12-06), as an empty extract is refused.
      const [{ any }] = await exec(`SELECT EXISTS (SELECT 1 FROM source_stage_raw WHERE row_no > 1) AS any`);
      if (!any)
        throw new ValidationError(
          LINKAGE_ERRORS.SOURCE_LOAD_EMPTY,
          'The file has a header and no rows: nothing is stored',
        );
      // "Today" for the dates' checks is England's (an admission or a service of today is no future date).
      await exec(`SELECT set_config($1, $2, true)`, [SOURCE_TODAY_SETTING, todayInEngland()]);
      await exec(`CREATE TEMP TABLE source_stage ON COMMIT DROP AS ${format.stageSql}`);
      await exec(`ANALYZE source_stage`);
      const [{ id }] = await exec(
        `INSERT INTO source_loads (kind, uploaded_by) VALUES ($1, $2) RETURNING id`,
        [kind, actor.id],
      );
      const clients = kind === 'social_care';
      const { linkedByStep, linked, nhsFromClient, linkFromClient } = await runLinkage(
        exec,
        `(SELECT row AS id, nhs_number, birth_date, sex, postcode${clients ? ', la_code, person_id, start_date' : ''}
            FROM source_stage WHERE reason IS NULL)`,
        this.type1.key,
        // Social care: a row without an NHS number may take its client's (issue #26).
        { clients },
      );
      const [{ inserted, updated }] = await exec(format.upsertSql, [id]);
      // Rows this file brought may name people that make earlier step-6 and step-7 links (of either
      // source) doubtful: those are reviewed against the same rule (issue #26), fail closed.
      const reviewed: Record<
        string,
        { changed: number; unlinked: number; nhsFromClient: number; linkFromClient: number }
      > = {};
      for (const table of LINKED_SOURCES) {
        const r = await relinkTable(exec, this.type1.key, table, 'demographic');
        reviewed[table] = {
          changed: r.changed,
          unlinked: r.unlinked,
          nhsFromClient: r.nhsFromClient,
          linkFromClient: r.linkFromClient,
        };
      }
      const [{ rows, accepted }] = await exec(
        `SELECT count(*)::int AS rows, count(*) FILTER (WHERE reason IS NULL)::int AS accepted FROM source_stage`,
      );
      const unlinked = Number(accepted) - linked;
      const [{ report }] = await exec(
        `UPDATE source_loads
            SET report = jsonb_build_object(
                  'id', id, 'rows', $2::int, 'linkedByStep', $3::jsonb, 'unlinked', $4::int,
                  -- Bounded whatever the file holds: the first rows listed, every row counted by reason.
                  'rejected', COALESCE((SELECT jsonb_agg(jsonb_build_object('row', row, 'reason', reason, 'reasons', to_jsonb(reasons)) ORDER BY row)
                                          FROM (SELECT row, reason, reasons FROM source_stage WHERE reason IS NOT NULL
                                                 ORDER BY row LIMIT ${MAX_LISTED_REJECTED_ROWS}) r), '[]'::jsonb),
                  'rejectedCount', (SELECT count(*)::int FROM source_stage WHERE reason IS NOT NULL),
                  'rejectedByReason', COALESCE((SELECT jsonb_object_agg(reason, n) FROM (
                                          SELECT reason, count(*)::int AS n FROM source_stage
                                           WHERE reason IS NOT NULL GROUP BY reason) g), '{}'::jsonb))
          WHERE id = $1
        RETURNING report::text AS report`,
        [id, rows, JSON.stringify(linkedByStep), unlinked],
      );
      const rejected = Number(rows) - Number(accepted);
      await this.audit.record(
        {
          action: 'source.load',
          actor,
          subjectType: 'SourceLoad',
          subjectId: String(id),
          meta,
          details: {
            kind,
            rows,
            accepted,
            rejected,
            inserted,
            updated,
            unchanged: Number(accepted) - Number(inserted) - Number(updated),
            linked,
            unlinked,
            linkedByStep,
            nhsFromClient,
            linkFromClient,
            reviewed,
          },
        },
        em,
      );
      // The data manager who loaded the file hears that its linkage report is ready (#25).
      await this.notifications.enqueue(em, {
        kind: 'linkage.report_ready',
        to: { users: [actor.id] },
        subject: { type: 'SourceLoad', id: String(id) },
        params: { source: kind, id: String(id) },
      });
      return JSON.parse(String(report)) as LinkageReport;
    });
  }

  /** COPY the body verbatim; a structurally broken file (field count, quoting, encoding) is refused whole. */
  private async copyIn(
    client: PoolClient,
    body: NodeJS.ReadableStream,
    columns: readonly string[],
  ): Promise<void> {
    const copy = client.query(
      copyFrom(
        `COPY source_stage_raw (${RAW_COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')`,
      ),
    );
    const records = new CsvRecords();
    try {
      await pipeline(body, records, copy);
    } catch (e) {
      const err = e as PgError;
      // The error's context quotes the offending line (patient data): keep only its line number, a
      // physical line, told as the record it belongs to (a quoted field may hold a newline).
      const line = Number(/line (\d+)/.exec(err.where ?? '')?.[1]);
      if (err.code === '22P04' || err.code === '22021' || err.code === '22P05') {
        const record = Number.isFinite(line) ? records.recordOf(line) : NaN;
        if (record === 1)
          throw new CsvHeaderInvalidError(
            columns,
            records.utf16
              ? 'The file is UTF-16 text, not UTF-8: save it as "CSV UTF-8 (comma delimited)" and send it again'
              : 'The header does not match',
          );
        throw new CsvMalformedError(Number.isFinite(record) ? record - 1 : null);
      }
      throw e;
    }
  }

  async get(id: string): Promise<LinkageReport> {
    const [row] = await this.db.query(`SELECT report::text AS report FROM source_loads WHERE id = $1`, [id]);
    if (!row) throw new NotFoundError(LINKAGE_ERRORS.SOURCE_LOAD_NOT_FOUND, 'Source load');
    return JSON.parse(row.report) as LinkageReport;
  }

  async list(kind?: SourceKind): Promise<SourceLoadSummary[]> {
    return this.db.query(
      `SELECT l.id, l.kind, l.created_at AS "createdAt", l.uploaded_by AS "uploadedBy",
              (l.report->>'rows')::int AS rows,
              l.report->'linkedByStep' AS "linkedByStep",
              (l.report->>'unlinked')::int AS unlinked,
              COALESCE((l.report->>'rejectedCount')::int,
                       jsonb_array_length(COALESCE(l.report->'rejected', '[]'::jsonb))) AS "rejectedCount"
         FROM source_loads l
        WHERE $1::text IS NULL OR l.kind = $1
        ORDER BY l.created_at DESC, l.id
        LIMIT 500`,
      [kind ?? null],
    );
  }
}
