import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { assertPageInRange, type Principal, type RequestMeta } from '@custodian/core';
import { chainHash, ChainedFields, GENESIS_HASH } from './audit-chain';

/** Serialises appends so that each entry links to the one committed before it. */
const AUDIT_LOCK_KEY = 7_365_110_001;

export interface AuditInput {
  action: string;
  outcome?: 'success' | 'failure' | 'denied';
  actor?: Pick<Principal, 'id' | 'roles'> | null;
  bidId?: string | null;
  subjectType?: string | null;
  subjectId?: string | null;
  meta?: Partial<RequestMeta>;
  /** Never patient data or secrets: ids, counts, codes and states only. */
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  bidId?: string;
  actorId?: string;
  action?: string;
  from?: Date;
  to?: Date;
  page: number;
  limit: number;
}

export interface AuditRow {
  id: string;
  at: Date;
  actorId: string | null;
  actorRoles: string[];
  action: string;
  outcome: string;
  bidId: string | null;
  subjectType: string | null;
  subjectId: string | null;
  requestId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstBroken?: { id: string; reason: 'hash_mismatch' | 'broken_link' };
}

const SELECT_COLUMNS = `id::text AS "id", at, actor_id AS "actorId", actor_roles AS "actorRoles", action, outcome,
  bid_id AS "bidId", subject_type AS "subjectType", subject_id AS "subjectId", request_id AS "requestId", ip,
  details, prev_hash AS "prevHash", hash`;

@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Appends one entry in the caller's transaction (so it commits or rolls back with the change it
   * describes), or in its own when none is given (failed logins, denials).
   */
  async record(input: AuditInput, em?: EntityManager): Promise<void> {
    if (!em) return this.dataSource.transaction((tx) => this.append(tx, input));
    if (!em.queryRunner?.isTransactionActive) return em.transaction((tx) => this.append(tx, input));
    return this.append(em, input);
  }

  private async append(em: EntityManager, input: AuditInput): Promise<void> {
    await em.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
    const [last] = await em.query('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1');
    const prevHash: string = last?.hash ?? GENESIS_HASH;
    const fields: ChainedFields = {
      at: new Date(),
      actorId: input.actor?.id ?? null,
      actorRoles: input.actor?.roles ?? [],
      action: input.action,
      outcome: input.outcome ?? 'success',
      bidId: input.bidId ?? null,
      subjectType: input.subjectType ?? null,
      subjectId: input.subjectId ?? null,
      requestId: input.meta?.requestId || null,
      ip: input.meta?.ip || null,
      details: input.details ?? {},
    };
    await em.query(
      `INSERT INTO audit_log (at, actor_id, actor_roles, action, outcome, bid_id, subject_type, subject_id, request_id, ip, details, prev_hash, hash)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
      [
        fields.at,
        fields.actorId,
        fields.actorRoles,
        fields.action,
        fields.outcome,
        fields.bidId,
        fields.subjectType,
        fields.subjectId,
        fields.requestId,
        fields.ip,
        JSON.stringify(fields.details),
        prevHash,
        chainHash(prevHash, fields),
      ],
    );
  }

  async list(q: AuditQuery): Promise<{ items: AuditRow[]; page: number; limit: number; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.bidId) add('bid_id = ?', q.bidId);
    if (q.actorId) add('actor_id = ?', q.actorId);
    if (q.action) add('action = ?', q.action);
    if (q.from) add('at >= ?', q.from);
    if (q.to) add('at <= ?', q.to);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ total }] = await this.dataSource.query(
      `SELECT count(*)::int AS total FROM audit_log ${clause}`,
      params,
    );
    assertPageInRange(q.page, q.limit, total);
    const items = await this.dataSource.query(
      `SELECT ${SELECT_COLUMNS} FROM audit_log ${clause} ORDER BY id DESC LIMIT ${q.limit} OFFSET ${(q.page - 1) * q.limit}`,
      params,
    );
    return { items, page: q.page, limit: q.limit, total };
  }

  /** Walks the whole chain in id order, in batches, and reports the first entry that does not verify. */
  async verify(batchSize = 5000): Promise<VerifyResult> {
    let prevHash = GENESIS_HASH;
    let afterId = '0';
    let checked = 0;
    for (;;) {
      const rows: AuditRow[] = await this.dataSource.query(
        `SELECT ${SELECT_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2`,
        [afterId, batchSize],
      );
      if (!rows.length) return { ok: true, checked };
      for (const row of rows) {
        if (row.prevHash !== prevHash)
          return { ok: false, checked, firstBroken: { id: row.id, reason: 'broken_link' } };
        if (chainHash(prevHash, row) !== row.hash)
          return { ok: false, checked, firstBroken: { id: row.id, reason: 'hash_mismatch' } };
        prevHash = row.hash;
        checked++;
        afterId = row.id;
      }
    }
  }
}
