import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  assertPageInRange,
  markNotTheRequestsChange,
  type Principal,
  type RequestMeta,
} from '@custodian/core';
import { canonicalJson, chainHash, ChainedFields, GENESIS_HASH } from './audit-chain';
import { leaveOutWithheldActor, WITHHELD_FROM_APPLICANT } from './applicant-view';

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

/** How many request ids with a recorded denial this process remembers (see `deniedIn`). */
const DENIED_REQUESTS_MAX = 10_000;

export interface AuditQuery {
  bidId?: string;
  actorId?: string;
  action?: string;
  outcome?: string;
  from?: Date;
  to?: Date;
  page: number;
  limit: number;
}

/** An entry as read back: the chained fields, its id and its links. */
export interface AuditRow extends ChainedFields {
  id: string;
  prevHash: string;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /**
   * The first entry that does not verify; `truncated`: the position a signed checkpoint holds as
   * the head, no longer in the trail (entries were deleted from its end); `checkpoint_mismatch`:
   * the entry at that position is not the one the checkpoint signed.
   */
  firstBroken?: {
    id: string;
    reason: 'hash_mismatch' | 'broken_link' | 'truncated' | 'checkpoint_mismatch' | 'checkpoint_forged';
  };
}

/**
 * A position and hash of the chain held outside the trail (the register's signed checkpoints,
 * #24): the chain must still reach it, with that hash there. A trail whose last entries were
 * deleted still links from its start; only such an anchor shows it shorter.
 */
export interface AuditAnchor {
  length: number;
  head: string;
  /** Its signature does not verify: the anchor itself was rewritten (`checkpoint_forged`). */
  forged?: boolean;
}

/**
 * The id is read as text (a bigint does not fit a JS number). Queries that select these columns
 * must order by `audit_log.id`: a bare `ORDER BY id` names the text alias, which sorts 1, 10, 100,
 * 11 … (verification then reported a broken link at entry 10 on every real install).
 */
const SELECT_COLUMNS = `id::text AS "id", at, actor_id AS "actorId", actor_roles AS "actorRoles", action, outcome,
  bid_id AS "bidId", subject_type AS "subjectType", subject_id AS "subjectId", request_id AS "requestId", ip,
  details, prev_hash AS "prevHash", hash`;

@Injectable()
export class AuditService {
  /** Request ids whose denial a service has already recorded, so the central net does not add a second. */
  private readonly deniedRequests = new Set<string>();

  /** Where `verify` reads its anchor (`setAnchorSource`). */
  private anchorSource?: () => Promise<AuditAnchor | undefined>;
  /** Of some bids, those of an organisation (`setApplicantBids`; the trail cannot read the bids). */
  private applicantBids?: (bidIds: string[], organisationId: string) => Promise<string[]>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Sets where `verify` reads the anchor it checks the chain against: the register library gives its
   * latest signed checkpoint (the trail cannot read the register: the register reads the trail).
   */
  setAnchorSource(source: () => Promise<AuditAnchor | undefined>): void {
    this.anchorSource = source;
  }

  /** Sets how `list` finds the bids of an organisation (the bids library gives it: it reads the trail). */
  setApplicantBids(source: (bidIds: string[], organisationId: string) => Promise<string[]>): void {
    this.applicantBids = source;
  }

  /**
   * Appends one entry in the caller's transaction (so it commits or rolls back with the change it
   * describes), or in its own when none is given (failed logins, denials).
   */
  async record(input: AuditInput, em?: EntityManager): Promise<void> {
    if (input.outcome === 'denied') this.rememberDenied(input.meta?.requestId);
    if (!em)
      return this.dataSource.transaction((tx) => {
        // A refusal or failure recorded on its own is not the request's change (its Idempotency-Key
        // stays free: a refused extract's retry was told it may have been stored; probe 20).
        if (input.outcome !== undefined && input.outcome !== 'success')
          markNotTheRequestsChange(tx.queryRunner);
        return this.append(tx, input);
      });
    if (!em.queryRunner?.isTransactionActive) return em.transaction((tx) => this.append(tx, input));
    return this.append(em, input);
  }

  /**
   * Records a denial (or a repeatable failure) in its own transaction, collapsing repeats: the first
   * of a kind per actor (or, unauthenticated, per address) per minute is chained at once with
   * `count: 1`; identical repeats in that minute only add to a counter row (one upsert, no chain
   * lock), which `flushDenials` chains as one entry with the count once the minute has closed. The
   * counters are in the database, so every API process shares them and a crash loses no count.
   */
  async recordDenial(input: AuditInput): Promise<void> {
    this.rememberDenied(input.meta?.requestId);
    const outcome = input.outcome ?? 'denied';
    const ip = input.meta?.ip || null;
    const actorKey = input.actor?.id ? `user:${input.actor.id}` : `ip:${ip ?? ''}`;
    const details = input.details ?? {};
    const kind = createHash('sha256')
      .update(
        canonicalJson([
          input.action,
          outcome,
          input.actor?.id ?? null,
          [...(input.actor?.roles ?? [])].sort(),
          input.bidId ?? null,
          input.subjectType ?? null,
          input.subjectId ?? null,
          ip,
          details,
        ]),
      )
      .digest('hex');
    await this.dataSource.transaction(async (tx) => {
      // A refusal's record is not the request's change: it must not mark the request's
      // Idempotency-Key as committed (a refused request's key then stayed taken, and a retry was told
      // its request may have been stored: probe 20).
      markNotTheRequestsChange(tx.queryRunner);
      const [row] = await tx.query(
        `INSERT INTO audit_denials (window_start, actor_key, kind, action, outcome, actor_id, actor_roles, bid_id,
                                    subject_type, subject_id, ip, details, last_request_id)
         VALUES (date_trunc('minute', clock_timestamp()), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (window_start, actor_key, kind)
           DO UPDATE SET pending = audit_denials.pending + 1, last_request_id = EXCLUDED.last_request_id
         RETURNING (xmax = 0) AS first`,
        [
          actorKey.slice(0, 100),
          kind,
          input.action,
          outcome,
          input.actor?.id ?? null,
          input.actor?.roles ?? [],
          input.bidId ?? null,
          input.subjectType ?? null,
          input.subjectId ?? null,
          ip,
          JSON.stringify(details),
          input.meta?.requestId || null,
        ],
      );
      if (row.first) await this.append(tx, { ...input, outcome, details: { ...details, count: 1 } });
    });
  }

  /**
   * Chains one summary entry (`count`: the repeats not yet chained, `repeatedIn`: the minute) for
   * each denial counter whose minute closed before `through`, and deletes the counters in the same
   * transaction: each count reaches the chain exactly once, whichever process sweeps.
   */
  async flushDenials(through?: Date): Promise<number> {
    let written = 0;
    for (;;) {
      const n = await this.dataSource.transaction(async (tx) => {
        const rows: Array<{
          window_start: Date;
          actor_key: string;
          kind: string;
          action: string;
          outcome: 'success' | 'failure' | 'denied';
          actor_id: string | null;
          actor_roles: string[];
          bid_id: string | null;
          subject_type: string | null;
          subject_id: string | null;
          ip: string | null;
          details: Record<string, unknown>;
          last_request_id: string | null;
          pending: number;
        }> = await tx.query(
          `SELECT * FROM audit_denials
            WHERE window_start + interval '1 minute' <= coalesce($1::timestamptz, clock_timestamp())
            ORDER BY window_start LIMIT 200 FOR UPDATE SKIP LOCKED`,
          [through ?? null],
        );
        for (const r of rows) {
          if (r.pending > 0)
            await this.append(tx, {
              action: r.action,
              outcome: r.outcome,
              actor: r.actor_id ? { id: r.actor_id, roles: r.actor_roles as Principal['roles'] } : null,
              bidId: r.bid_id,
              subjectType: r.subject_type,
              subjectId: r.subject_id,
              meta: { requestId: r.last_request_id ?? '', ip: r.ip ?? '' },
              details: { ...r.details, count: r.pending, repeatedIn: r.window_start.toISOString() },
            });
          await tx.query(
            `DELETE FROM audit_denials WHERE window_start = $1 AND actor_key = $2 AND kind = $3`,
            [r.window_start, r.actor_key, r.kind],
          );
        }
        return rows.filter((r) => r.pending > 0).length + (rows.length ? 0 : -1);
      });
      if (n < 0) return written;
      written += n;
    }
  }

  /** Whether a denial was already recorded for this request (by this process). */
  deniedIn(requestId: string | undefined): boolean {
    return !!requestId && this.deniedRequests.has(requestId);
  }

  private rememberDenied(requestId: string | undefined): void {
    if (!requestId) return;
    if (this.deniedRequests.size >= DENIED_REQUESTS_MAX)
      this.deniedRequests.delete(this.deniedRequests.values().next().value!);
    this.deniedRequests.add(requestId);
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
      // A client's own X-Request-Id is kept as a label only (request_id is always the service's).
      details: input.meta?.clientRequestId
        ? { ...input.details, clientRequestId: input.meta.clientRequestId }
        : (input.details ?? {}),
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

  async list(
    q: AuditQuery,
    viewer?: Pick<Principal, 'roles' | 'organisationId'>,
  ): Promise<{ items: AuditRow[]; page: number; limit: number; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.bidId) add('bid_id = ?', q.bidId);
    if (q.actorId) add('actor_id = ?', q.actorId);
    if (q.action) add('action = ?', q.action);
    if (q.outcome) add('outcome = ?', q.outcome);
    if (q.from) add('at >= ?', q.from);
    if (q.to) add('at <= ?', q.to);
    if (q.actorId)
      await leaveOutWithheldActor(this.dataSource, q.actorId, viewer, this.applicantBids, where, params);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ total }] = await this.dataSource.query(
      `SELECT count(*)::int AS total FROM audit_log ${clause}`,
      params,
    );
    assertPageInRange(q.page, q.limit, total);
    const items: AuditRow[] = await this.dataSource.query(
      `SELECT ${SELECT_COLUMNS} FROM audit_log ${clause} ORDER BY audit_log.id DESC LIMIT ${q.limit} OFFSET ${(q.page - 1) * q.limit}`,
      params,
    );
    await this.withholdFromApplicant(items, viewer);
    return { items, page: q.page, limit: q.limit, total };
  }

  /**
   * An auditor of an organisation (a researcher there too, or not: probe 36) reads the entries of
   * their own organisation's bids without
   * what an applicant may not see: the exact figures of a failed verification's reason, which names
   * rows and counts of persons (SPEC §5 step 4; review-20: the one place left after the releases'
   * own view, `readsExactOf`), and the panel's individual votes — who voted and how (SPEC §4:
   * "Applicants see the decision and the panel's conditions, not individual votes"; probe 35 read
   * every member's vote on their own organisation's requests). The entry's hash covers what was
   * withheld; `GET /api/audit/verify` checks it.
   */
  private async withholdFromApplicant(
    items: AuditRow[],
    viewer?: Pick<Principal, 'roles' | 'organisationId'>,
  ) {
    if (!viewer?.organisationId) return;
    const withheld = (i: AuditRow) => i.bidId !== null && Object.hasOwn(WITHHELD_FROM_APPLICANT, i.action);
    const bidIds = [...new Set(items.filter(withheld).map((i) => i.bidId))];
    if (!bidIds.length) return;
    // Without the bids' answer (a process without them), every such entry is withheld: fail closed.
    const mine = this.applicantBids
      ? new Set(await this.applicantBids(bidIds as string[], viewer.organisationId))
      : undefined;
    for (const i of items)
      if (withheld(i) && (!mine || mine.has(i.bidId!))) WITHHELD_FROM_APPLICANT[i.action](i);
  }

  /**
   * Walks the whole chain in id order, in batches, and reports the first entry that does not
   * verify; then that it reaches the anchor (`setAnchorSource`) with the anchor's hash
   * there (before, a trail cut at its end verified: an outsider's probe, 2026-12-07).
   */
  async verify(batchSize = 5000): Promise<VerifyResult> {
    const read = await this.anchorSource?.();
    const anchor = read && read.length > 0 ? read : undefined;
    let prevHash = GENESIS_HASH;
    let afterId = '0';
    let checked = 0;
    let reached = false;
    for (;;) {
      const rows: (AuditRow & { seq: string })[] = await this.dataSource.query(
        `SELECT ${SELECT_COLUMNS}, seq::text AS seq FROM audit_log WHERE audit_log.id > $1::bigint ORDER BY audit_log.id LIMIT $2`,
        [afterId, batchSize],
      );
      if (!rows.length) break;
      for (const row of rows) {
        if (row.prevHash !== prevHash)
          return { ok: false, checked, firstBroken: { id: row.id, reason: 'broken_link' } };
        if (chainHash(prevHash, row) !== row.hash)
          return { ok: false, checked, firstBroken: { id: row.id, reason: 'hash_mismatch' } };
        if (anchor && Number(row.seq) === anchor.length) {
          if (row.hash !== anchor.head)
            return { ok: false, checked, firstBroken: { id: row.id, reason: 'checkpoint_mismatch' } };
          reached = true;
        }
        prevHash = row.hash;
        checked++;
        afterId = row.id;
      }
    }
    // A rewritten checkpoint proves nothing, and says someone rewrote it (its numbers made to match
    // a cut trail verified: a review, 2026-12-07).
    if (anchor?.forged)
      return { ok: false, checked, firstBroken: { id: String(anchor.length), reason: 'checkpoint_forged' } };
    if (anchor && !reached)
      return { ok: false, checked, firstBroken: { id: String(anchor.length), reason: 'truncated' } };
    return { ok: true, checked };
  }
}
