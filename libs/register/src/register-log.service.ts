import { AUDIT_LOG_SOURCE, AuditService } from '@custodian/audit';
import { AGREEMENTS_SOURCE, BIDS_SOURCE } from '@custodian/bids';
import { ORGANISATIONS_SOURCE } from '@custodian/identity';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig, assertPageInRange } from '@custodian/core';
import { AMENDMENT_REGISTER_FACTS_SQL } from '@custodian/bids';
import {
  type AmendmentLogLine,
  chainStep,
  checkpointSignatureValid,
  type CheckpointBody,
  type DecisionLogLine,
  lineHash,
  REGISTER_GENESIS,
  type RegisterChainLine,
  type RegisterLogLine,
  type SignedCheckpoint,
  signCheckpoint,
  signingKeyFromSeed,
  type SigningKey,
} from './register-chain';

export type RegisterLogInput = Omit<RegisterLogLine, 'seq' | 'at' | 'audit'>;

/**
 * The facts of a bid's decision line, read as `RegisterService.lines` reads them for the public
 * register (its first agreement: the one offered with the approval).
 */
const DECISION_FACTS_SQL = `SELECT o.name AS organisation, o.kind AS organisation_kind, b.title, b.purpose, b.granted_tier AS tier,
              b.legal_basis, b.legal_basis_reference, b.datasets, a.reference AS agreement_reference
         FROM ${BIDS_SOURCE} b JOIN ${ORGANISATIONS_SOURCE} o ON o.id = b.organisation_id
         LEFT JOIN LATERAL (SELECT reference FROM ${AGREEMENTS_SOURCE} ag WHERE ag.bid_id = b.id ORDER BY ag.version LIMIT 1) a ON true
        WHERE b.id = $1`;

export interface RegisterLogEntry {
  seq: number;
  line: RegisterChainLine;
  lineHash: string;
  prevHash: string;
  hash: string;
  /** The audit entry's hash as it stands now, and the next entry's link to it (null at the head). */
  auditHashNow: string | null;
  auditNextPrevHash: string | null;
}

export interface StoredCheckpoint extends SignedCheckpoint {
  id: string;
  reason: 'release' | 'daily';
}

/**
 * The heads of both chains and their lengths, in one statement (so of one moment): each length is
 * its head row's position (`seq`, 1, 2, … with no gap), read through an index, never a count.
 */
export const CHECKPOINT_HEADS_SQL = `SELECT clock_timestamp() AS at, a.seq::text AS audit_length, a.hash AS audit_head,
              r.seq::text AS register_length, r.hash AS register_head
         FROM (SELECT 1) one
         LEFT JOIN LATERAL (SELECT seq, hash FROM ${AUDIT_LOG_SOURCE} ORDER BY seq DESC LIMIT 1) a ON true
         LEFT JOIN LATERAL (SELECT seq, hash FROM register_log ORDER BY seq DESC LIMIT 1) r ON true`;

/** A page of the audit chain's hashes from position $1 (1 = the first entry), $2 at most: a keyset seek. */
export const AUDIT_HASHES_SQL = `SELECT seq::text AS position, prev_hash, hash FROM ${AUDIT_LOG_SOURCE} WHERE seq >= $1 ORDER BY audit_log.seq LIMIT $2`;

/** A kept checkpoint's columns (`storedCheckpoint` reads them), over `register_checkpoints c`. */
const CHECKPOINT_COLUMNS = `c.id::text AS id, c.reason, c.at, c.audit_length::text AS audit_length, c.audit_head,
  c.register_length::text AS register_length, c.register_head, c.key_id, c.signature`;

const storedCheckpoint = (r: Record<string, string>): StoredCheckpoint => ({
  id: r.id,
  reason: r.reason as StoredCheckpoint['reason'],
  at: new Date(r.at).toISOString(),
  auditLength: Number(r.audit_length),
  auditHead: r.audit_head,
  registerLength: Number(r.register_length),
  registerHead: r.register_head,
  keyId: r.key_id,
  signature: r.signature,
});

/**
 * The register log and its signed checkpoints (#24). Lines are appended in the transaction that
 * completes a release, after its audit entry (the audit chain's lock is then held, so lines and
 * entries keep one order); a checkpoint is signed and kept with each, and one a day.
 */
@Injectable()
export class RegisterLogService implements OnModuleInit {
  private key?: SigningKey;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /**
   * The audit trail's verification (`GET /api/audit/verify`, `cli verify-audit`) checks that the
   * chain still reaches the latest signed checkpoint: a trail cut at its end links from its start.
   */
  onModuleInit(): void {
    this.audit.setAnchorSource(() => this.latestAuditAnchor());
  }

  private signingKey(): SigningKey {
    this.key ??= signingKeyFromSeed(this.config.registerSigningKey);
    return this.key;
  }

  publicKey(): { algorithm: 'Ed25519'; keyId: string; publicKey: string } {
    const k = this.signingKey();
    return { algorithm: 'Ed25519', keyId: k.keyId, publicKey: k.publicKeyPem };
  }

  /**
   * Appends the register line of a completed release, bound to the audit entry just written in
   * `tx` (call right after `AuditService.record`), and keeps a signed checkpoint with it.
   */
  async appendRelease(tx: EntityManager, input: RegisterLogInput): Promise<void> {
    await this.append(tx, input.releaseId, (seq, at, audit) => ({ ...input, seq, at, audit }));
  }

  /**
   * Appends the register line of a bid's approval, in the decision's transaction, after its audit
   * entry and the agreement offered with it; keeps a signed checkpoint with it.
   */
  async appendDecision(tx: EntityManager, bidId: string): Promise<void> {
    const [f] = await tx.query(DECISION_FACTS_SQL, [bidId]);
    if (!f?.tier) throw new Error('decision line of a bid without a granted tier');
    await this.append(tx, null, (seq, at, audit): DecisionLogLine => ({
      kind: 'decision',
      seq,
      bidId,
      at,
      organisation: f.organisation,
      organisationKind: f.organisation_kind,
      title: f.title,
      purpose: f.purpose,
      tier: f.tier,
      legalBasis: f.legal_basis,
      legalBasisReference: f.legal_basis_reference ?? null,
      datasets: (f.datasets as { dataset: string }[]).map((d) => d.dataset),
      agreementReference: f.agreement_reference ?? null,
      audit,
    }));
  }

  /**
   * Appends the register line of an approved amendment (#25), in the approving transaction, after
   * its audit entry and the agreement version offered with it; keeps a signed checkpoint with it.
   */
  async appendAmendment(tx: EntityManager, bidId: string, version: number): Promise<void> {
    const [f] = await tx.query(AMENDMENT_REGISTER_FACTS_SQL, [bidId, version]);
    if (!f?.tier || !f.agreement_reference) throw new Error('amendment line without a tier or an agreement');
    await this.append(tx, null, (seq, at, audit): AmendmentLogLine => ({
      kind: 'amendment',
      seq,
      bidId,
      version,
      scope: f.scope,
      at,
      organisation: f.organisation,
      organisationKind: f.organisation_kind,
      title: f.title,
      purpose: f.purpose,
      tier: f.tier,
      legalBasis: f.legal_basis,
      legalBasisReference: f.legal_basis_reference ?? null,
      datasets: (f.datasets as { dataset: string }[]).map((d) => d.dataset),
      agreementReference: f.agreement_reference,
      audit,
    }));
  }

  private async append(
    tx: EntityManager,
    releaseId: string | null,
    make: (seq: number, at: string, audit: { id: string; hash: string }) => RegisterChainLine,
  ): Promise<void> {
    // The chain's head by position (ordering by `id` here would sort the text alias: "9" > "46").
    const [audit] = await tx.query(
      `SELECT id::text AS id, hash FROM ${AUDIT_LOG_SOURCE} ORDER BY audit_log.seq DESC LIMIT 1`,
    );
    if (!audit) throw new Error('register line without an audit entry');
    const [last] = await tx.query(`SELECT seq::int AS seq, hash FROM register_log ORDER BY seq DESC LIMIT 1`);
    const [{ at }] = await tx.query(`SELECT now() AS at`);
    const line = make((last?.seq ?? 0) + 1, new Date(at).toISOString(), {
      id: audit.id,
      hash: audit.hash,
    });
    const lh = lineHash(line);
    const prev: string = last?.hash ?? REGISTER_GENESIS;
    await tx.query(
      `INSERT INTO register_log (seq, kind, release_id, audit_id, audit_hash, line, line_hash, prev_hash, hash, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        line.seq,
        line.kind ?? 'release',
        releaseId,
        audit.id,
        audit.hash,
        JSON.stringify(line),
        lh,
        prev,
        chainStep(prev, lh),
        at,
      ],
    );
    await this.keepCheckpoint(tx, 'release');
  }

  /** The heads as they stand (in one statement, so both chains are of one moment), signed. */
  async checkpoint(em: EntityManager | DataSource = this.db): Promise<SignedCheckpoint> {
    const [r] = await em.query(CHECKPOINT_HEADS_SQL);
    const body: CheckpointBody = {
      at: new Date(r.at).toISOString(),
      auditLength: Number(r.audit_length ?? 0),
      auditHead: r.audit_head ?? REGISTER_GENESIS,
      registerLength: Number(r.register_length ?? 0),
      registerHead: r.register_head ?? REGISTER_GENESIS,
      keyId: this.signingKey().keyId,
    };
    return signCheckpoint(body, this.signingKey());
  }

  /** Signs the heads and keeps the checkpoint (`release`: in the release's transaction; `daily`). */
  async keepCheckpoint(
    em: EntityManager | DataSource,
    reason: 'release' | 'daily',
  ): Promise<SignedCheckpoint> {
    const c = await this.checkpoint(em);
    await em.query(
      `INSERT INTO register_checkpoints (at, reason, audit_length, audit_head, register_length, register_head, key_id, signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [c.at, reason, c.auditLength, c.auditHead, c.registerLength, c.registerHead, c.keyId, c.signature],
    );
    return c;
  }

  /**
   * The audit chain's length and head as the latest checkpoint signed with this deployment's key
   * saw them (none: undefined); `forged` when its signature does not verify (its numbers were
   * rewritten to match a cut trail: a review, 2026-12-07). Checkpoints of another key id (before a
   * key was rotated) are not read: one that claimed another key could not be checked, and its
   * numbers would be taken on trust (a forger need only change its key id).
   */
  async latestAuditAnchor(): Promise<{ length: number; head: string; forged?: true } | undefined> {
    const key = this.publicKey();
    const [row] = await this.db.query(
      `SELECT ${CHECKPOINT_COLUMNS} FROM register_checkpoints c WHERE c.key_id = $1 ORDER BY c.id DESC LIMIT 1`,
      [key.keyId],
    );
    if (!row) return undefined;
    const c = storedCheckpoint(row);
    const anchor = { length: c.auditLength, head: c.auditHead };
    return checkpointSignatureValid(c, key.publicKey) ? anchor : { ...anchor, forged: true };
  }

  /** The daily checkpoint (the scheduled job). */
  keepDaily(): Promise<SignedCheckpoint> {
    return this.keepCheckpoint(this.db, 'daily');
  }

  async checkpoints(page: number, limit: number) {
    const [{ total }] = await this.db.query(`SELECT count(*)::int AS total FROM register_checkpoints`);
    assertPageInRange(page, limit, total);
    // By the table's id, a number (`ORDER BY id` took the text column of the same name: "10" < "2").
    const rows = await this.db.query(
      `SELECT ${CHECKPOINT_COLUMNS} FROM register_checkpoints c ORDER BY c.id LIMIT $1 OFFSET $2`,
      [limit, (page - 1) * limit],
    );
    const items: StoredCheckpoint[] = rows.map(storedCheckpoint);
    return { items, page, limit, total };
  }

  async log(page: number, limit: number) {
    const [{ total }] = await this.db.query(`SELECT count(*)::int AS total FROM register_log`);
    assertPageInRange(page, limit, total);
    const rows = await this.db.query(
      `SELECT l.seq::int AS seq, l.line, l.line_hash, l.prev_hash, l.hash,
              (SELECT a.hash FROM ${AUDIT_LOG_SOURCE} a WHERE a.id = l.audit_id) AS audit_now,
              (SELECT a.prev_hash FROM ${AUDIT_LOG_SOURCE} a WHERE a.id > l.audit_id ORDER BY a.id LIMIT 1) AS audit_next_prev
         FROM register_log l ORDER BY l.seq LIMIT $1 OFFSET $2`,
      [limit, (page - 1) * limit],
    );
    const items: RegisterLogEntry[] = rows.map((r: Record<string, never>) => ({
      seq: r.seq,
      line: r.line,
      lineHash: r.line_hash,
      prevHash: r.prev_hash,
      hash: r.hash,
      auditHashNow: r.audit_now ?? null,
      auditNextPrevHash: r.audit_next_prev ?? null,
    }));
    return { items, page, limit, total };
  }

  /** Hashes of the audit chain from a position (1 = the first entry), in chain order: hashes only. */
  async auditHashes(from: number, limit: number) {
    const rows = await this.db.query(AUDIT_HASHES_SQL, [from, limit]);
    return {
      items: rows.map((r: Record<string, string>) => ({
        position: Number(r.position),
        prevHash: r.prev_hash,
        hash: r.hash,
      })),
    };
  }
}
