import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Not } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { ChangeFeed, FeedCache } from '@custodian/database';
import { CatalogService } from '@custodian/catalog';
import {
  APP_CONFIG,
  type AppConfig,
  assertPageInRange,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  type Principal,
  type RequestMeta,
} from '@custodian/core';
import { AgreementsService } from './agreements.service';
import {
  bidColumns,
  bidFromRow,
  type BidPage,
  type BidWithAgreement,
  LATEST_AGREEMENT,
  readBidRow,
} from './bid-read';
import { AMENDMENT_TRANSITIONS } from './amendment-state';
import { BidAmendmentsService } from './bid-amendments.service';
import {
  isReviewer,
  reviewerScope,
  reviewersSeeVersionSql,
  seesInternals,
  visibleBidsWhere,
} from './bid-access';
import { type BidContent, validateBidContent } from './bid-content';
import { lockBidForApplicant, lockBidForReviewer, requireApplicantOrg } from './bid-locks';
import { EDITABLE_STATES, TRANSITIONS } from './bid-state';
import { BidWorkflow } from './bid-workflow';
import { Bid, BidVersion } from './bid.entity';
import { linkageRiskOf, PENDING_VERSION_STATES } from './linkage-risk';
import type { CreateBidDto, ListBidsQueryDto, UpdateBidDto } from './dto';
import type { LinkageRiskDto } from './linkage-risk.dto';
import { BIDS_ERRORS } from './bids.errors';

/** Pages of up to this many bids are kept by the read cache; larger ones are read every time. */
const MAX_CACHED_PAGE = 50;

/** Bids: their content, visibility, and the applicant's transitions (screening and votes: @custodian/governance). */
/** Events that are the panel's collective decision: shown to the applicant without the member's identity. */
const PANEL_DECISIONS: ReadonlySet<string> = new Set([
  ...TRANSITIONS.filter((t) => t.by === 'panel_member').map((t) => t.action),
  ...AMENDMENT_TRANSITIONS.filter((t) => t.by === 'panel_member').map((t) => `amend_${t.action}`),
]);

@Injectable()
export class BidsService {
  /**
   * Pages and bids as read for a visibility scope, for `CACHE_SECONDS`: emptied whenever any
   * process commits a change to bids or agreements (trigger → `custodian_bids`), whenever this
   * process commits any transaction (so it reads its own writes before the notification arrives),
   * and while the change feed is down.
   */
  private readonly reads: FeedCache<Readonly<BidWithAgreement> | BidPage | Buffer>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly catalog: CatalogService,
    private readonly workflow: BidWorkflow,
    private readonly agreements: AgreementsService,
    private readonly amendments: BidAmendmentsService,
    private readonly audit: AuditService,
    feed: ChangeFeed,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // At most 256 entries, pages of up to 50 bids only (~100 KB each with its serialised body):
    // one caller paging through large pages cannot grow the process by more than ~25 MB.
    this.reads = new FeedCache(feed, config.cacheSeconds * 1000, 256);
    feed.on('custodian_bids', () => this.reads.clear());
    feed.onLocalCommit(() => this.reads.clear());
  }

  async create(user: Principal, dto: CreateBidDto, meta?: RequestMeta): Promise<BidWithAgreement> {
    const org = requireApplicantOrg(user);
    return this.db.transaction(async (tx) => {
      const content = await validateBidContent(tx, this.catalog, org, {
        title: dto.title.trim(),
        purpose: dto.purpose,
        publicBenefit: dto.publicBenefit,
        legalBasis: dto.legalBasis,
        legalBasisReference: dto.legalBasisReference ?? null,
        requestedTier: dto.requestedTier,
        datasets: dto.datasets.map((d) => ({ dataset: d.dataset, fields: d.fields })),
        cohort: { ...(dto.cohort ?? {}) },
        aggregation: dto.aggregation ? { dimensions: dto.aggregation.dimensions } : null,
        durationMonths: dto.durationMonths,
        recipients: dto.recipients ?? [user.id],
      });
      const bid = await tx.save(tx.create(Bid, { ...content, organisationId: org, createdBy: user.id }));
      await this.workflow.event(tx, bid.id, user, { action: 'create', to: 'draft' });
      await this.audit.record(
        {
          action: 'bid.create',
          actor: user,
          bidId: bid.id,
          subjectType: 'bid',
          subjectId: bid.id,
          meta,
          details: { tier: bid.requestedTier, legalBasis: bid.legalBasis },
        },
        tx,
      );
      return this.readBid(tx, bid.id);
    });
  }

  async update(
    user: Principal,
    id: string,
    dto: UpdateBidDto,
    meta?: RequestMeta,
  ): Promise<BidWithAgreement> {
    const org = requireApplicantOrg(user);
    return this.db.transaction(async (tx) => {
      const bid = await this.lockForApplicant(tx, id, org);
      if (!EDITABLE_STATES.includes(bid.state))
        throw new ConflictError(
          BIDS_ERRORS.BID_NOT_EDITABLE,
          `A bid in state ${bid.state} cannot be edited`,
          {
            state: bid.state,
          },
        );
      const merged: BidContent = {
        title: dto.title?.trim() ?? bid.title,
        purpose: dto.purpose ?? bid.purpose,
        publicBenefit: dto.publicBenefit ?? bid.publicBenefit,
        legalBasis: dto.legalBasis ?? bid.legalBasis,
        legalBasisReference:
          dto.legalBasisReference !== undefined ? (dto.legalBasisReference ?? null) : bid.legalBasisReference,
        requestedTier: dto.requestedTier ?? bid.requestedTier,
        datasets: dto.datasets
          ? dto.datasets.map((d) => ({ dataset: d.dataset, fields: d.fields }))
          : bid.datasets,
        cohort: dto.cohort !== undefined ? { ...dto.cohort } : bid.cohort,
        aggregation:
          dto.aggregation !== undefined
            ? dto.aggregation
              ? { dimensions: dto.aggregation.dimensions }
              : null
            : bid.aggregation,
        durationMonths: dto.durationMonths ?? bid.durationMonths,
        recipients: dto.recipients ?? bid.recipients,
      };
      const content = await validateBidContent(tx, this.catalog, org, merged);
      let cohortSize = bid.cohortSize;
      if (content.legalBasis !== 'consent' && cohortSize !== null) {
        await tx.query('DELETE FROM bid_cohort_members WHERE bid_id = $1', [bid.id]);
        cohortSize = null;
      }
      await tx.update(Bid, { id: bid.id }, { ...content, cohortSize, updatedAt: new Date() });
      await this.audit.record(
        {
          action: 'bid.update',
          actor: user,
          bidId: bid.id,
          subjectType: 'bid',
          subjectId: bid.id,
          meta,
          details: { changed: Object.keys(dto) },
        },
        tx,
      );
      return this.readBid(tx, bid.id);
    });
  }

  async list(user: Principal, q: ListBidsQueryDto): Promise<BidPage> {
    const scope = visibleBidsWhere(user, 1);
    const key = `list|${scope.params.join('|')}|${q.state ?? ''}|${q.limit}|${q.page}`;
    return this.reads.read(
      key,
      () => this.readPage(scope, q),
      q.limit <= MAX_CACHED_PAGE,
    ) as Promise<BidPage>;
  }

  private async readPage(scope: ReturnType<typeof visibleBidsWhere>, q: ListBidsQueryDto): Promise<BidPage> {
    const where = `${scope.sql} AND ($3::text IS NULL OR b.state = $3)`;
    // One round trip for the total and the page with each bid's latest agreement (a page past the
    // end still needs the total): the count and the page read only the bids they need, by index.
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT t.total, p.* FROM (SELECT count(*)::int AS total FROM bids b WHERE ${where}) t
         LEFT JOIN LATERAL (
           SELECT ${bidColumns(this.db)}, b.ord
             FROM (SELECT b.*, row_number() OVER (ORDER BY b.created_at DESC, b.id) AS ord
                     FROM bids b WHERE ${where} ORDER BY b.created_at DESC, b.id LIMIT $4 OFFSET $5) b
             LEFT JOIN LATERAL (${LATEST_AGREEMENT}) a ON true) p ON true
        ORDER BY p.ord`,
      [...scope.params, q.state ?? null, q.limit, (q.page - 1) * q.limit],
    );
    const total = (rows[0]?.total as number) ?? 0;
    assertPageInRange(q.page, q.limit, total);
    return { items: rows[0]?.id ? rows.map((r) => bidFromRow(r)) : [], total };
  }

  /** A bid the caller may read, or 404 (also for another organisation's bid). */
  async get(user: Principal, id: string): Promise<Readonly<BidWithAgreement>> {
    const scope = visibleBidsWhere(user, 2);
    const key = `bid|${id}|${scope.params.join('|')}`;
    return this.reads.read(key, () => this.readBid(this.db.manager, id, scope)) as Promise<BidWithAgreement>;
  }

  /**
   * Reviewers (not of the applicant organisation), bids whose files can be joined person to person
   * (`linkable`: pseudonymised, identifiable — the panel may lower it — or anonymised with event
   * histories): the organisation's other such bids in review, approved, active or ended (files kept)
   * and their overlap (#27, `linkage-risk.ts`). An attacker's probe (2026-12-07): two bids in review
   * at once each saw an empty list; identifiable bids were never listed.
   */
  async linkageRisk(user: Principal, bid: Readonly<BidWithAgreement>): Promise<LinkageRiskDto | undefined> {
    if (!seesInternals(user, bid)) return undefined;
    const others = await this.db.getRepository(Bid).find({
      where: {
        organisationId: bid.organisationId,
        id: Not(bid.id),
        state: In(['submitted', 'in_review', 'approved', 'active', 'expired', 'revoked', 'closed']),
      },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    // Amendments on their way (review-15: one adding the person column was listed to no one).
    const pending = await this.db.getRepository(BidVersion).find({
      where: { bidId: In([bid.id, ...others.map((o) => o.id)]), state: In(PENDING_VERSION_STATES) },
    });
    return linkageRiskOf(bid, others, pending);
  }

  /**
   * A bid's history as the JSON body of `GET /api/bids/:id/events` (BidEventDto[]), in one
   * set-based query: the bid within the caller's scope (404 otherwise) and its events built as
   * JSON by PostgreSQL (`at` as `toISOString()` gives it), encoded. Kept per bid, visibility scope
   * and caller's organisation (which decides whether they see internals) like the bid reads: events
   * are written with their bid's change, and `bid_events` announces itself on `custodian_bids` too.
   */
  async eventsBody(user: Principal, id: string): Promise<Buffer> {
    const scope = visibleBidsWhere(user, 2);
    const seen = reviewerScope(user);
    const key = `events|${id}|${scope.params.join('|')}|${user.organisationId ?? ''}|${seen}`;
    return this.reads.read(key, async () => {
      const common = `'id', e.id::text, 'at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                      'action', e.action`;
      const states = `'fromState', e.from_state, 'toState', e.to_state, 'remarks', e.remarks`;
      const [row] = await this.db.query(
        `WITH v AS (
           SELECT b.id, ($${scope.params.length + 2}::boolean
                         AND b.organisation_id IS DISTINCT FROM $${scope.params.length + 3}::uuid) AS internals
             FROM bids b WHERE b.id = $1 AND ${scope.sql})
         SELECT (SELECT coalesce(json_agg(
                   CASE WHEN v.internals
                     THEN json_build_object(${common}, 'actorId', e.actor_id, 'actorRoles', e.actor_roles,
                            ${states}, 'internalNotes', e.internal_notes, 'details', e.details)
                     WHEN e.action = ANY($${scope.params.length + 4}::text[])
                     THEN json_build_object(${common}, 'actorId', NULL, 'actorRoles', ARRAY['panel_member'],
                            ${states}, 'details', e.details)
                     ELSE json_build_object(${common}, 'actorId', e.actor_id, 'actorRoles', e.actor_roles,
                            ${states}, 'details', e.details) END
                   ORDER BY e.id), '[]')::text
                   FROM bid_events e WHERE e.bid_id = v.id AND (v.internals OR NOT e.internal)
                    -- An amendment's events, to reviewers, only of a version they may read
                    -- (reviewersSeeVersion): a draft's creation and edits are the applicant's alone,
                    -- as the version itself is (they were in this history: an outsider's probe).
                    AND NOT (v.internals AND e.details ? 'version' AND EXISTS (
                          SELECT 1 FROM bid_versions bv
                           WHERE bv.bid_id = e.bid_id AND bv.version::text = e.details->>'version'
                             AND NOT ${reviewersSeeVersionSql('bv', `$${scope.params.length + 5}::boolean`)}))) AS body
           FROM v`,
        [
          id,
          ...scope.params,
          isReviewer(user),
          user.organisationId ?? null,
          [...PANEL_DECISIONS],
          seen === 'panel',
        ],
      );
      if (!row) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
      // Re-written compactly once per read (json_agg spaces and breaks its output): the bytes the
      // entity mapping and JSON.stringify gave, kept and written as they are afterwards.
      return Buffer.from(JSON.stringify(JSON.parse(row.body as string)), 'utf8');
    }) as Promise<Buffer>;
  }

  async submit(user: Principal, id: string, meta?: RequestMeta): Promise<BidWithAgreement> {
    const org = requireApplicantOrg(user);
    return this.db.transaction(async (tx) => {
      const bid = await this.lockForApplicant(tx, id, org);
      if (bid.legalBasis === 'consent' && !bid.cohortSize && EDITABLE_STATES.includes(bid.state))
        throw new ConflictError(
          BIDS_ERRORS.CONSENT_COHORT_REQUIRED,
          'A consent bid needs its cohort of consenting NHS numbers (PUT /api/bids/:id/cohort) before submission',
        );
      await this.workflow.transition(tx, bid, 'submit', user, { meta, set: { submittedAt: new Date() } });
      return this.readBid(tx, bid.id);
    });
  }

  async withdraw(user: Principal, id: string, remarks: string | undefined, meta?: RequestMeta) {
    const org = requireApplicantOrg(user);
    return this.db.transaction(async (tx) => {
      const bid = await this.lockForApplicant(tx, id, org);
      await this.workflow.transition(tx, bid, 'withdraw', user, { meta, remarks });
      return this.readBid(tx, bid.id);
    });
  }

  /**
   * The applicant accepts the data sharing agreement: approved → active, the term starts today; or
   * an amendment's new agreement version, which brings the amendment into force.
   */
  async acceptAgreement(user: Principal, id: string, meta?: RequestMeta) {
    const org = requireApplicantOrg(user);
    return this.db.transaction(async (tx) => {
      const bid = await this.lockForApplicant(tx, id, org);
      // An amendment's agreement offered: the amendment comes into force (bid-amendments.service.ts).
      if (!(await this.amendments.acceptOffered(tx, bid, user, meta))) {
        await this.workflow.transition(tx, bid, 'accept_agreement', user, { meta });
        await this.agreements.activate(tx, bid, user);
      }
      return this.readBid(tx, bid.id);
    });
  }

  async revoke(user: Principal, id: string, reason: string, meta?: RequestMeta) {
    if (!user.roles.includes('admin'))
      throw new ForbiddenError(BIDS_ERRORS.FORBIDDEN, 'Only an administrator revokes agreements');
    const result = await this.db.transaction(async (tx) => {
      const bid = await this.lockForReviewer(tx, id, user);
      await this.workflow.transition(tx, bid, 'revoke', user, { meta, remarks: reason });
      await this.agreements.end(tx, bid.id, 'revoked', user.id, reason);
      await this.agreements.announceDestruction(bid.id, 'revoked', tx);
      return this.readBid(tx, bid.id);
    });
    return result;
  }

  /** For the release engine: see AgreementsService.findReleasable. */
  findReleasable(bidId: string, tx?: EntityManager) {
    return this.agreements.findReleasable(bidId, tx);
  }

  /** The applicant ends an active agreement early (work finished): active → closed, files destroyed. */
  async close(user: Principal, id: string, remarks: string | undefined, meta?: RequestMeta) {
    const org = requireApplicantOrg(user);
    const result = await this.db.transaction(async (tx) => {
      const bid = await this.lockForApplicant(tx, id, org);
      await this.workflow.transition(tx, bid, 'close', user, { meta, remarks: remarks ?? null });
      await this.agreements.end(tx, bid.id, 'closed', user.id, remarks ?? 'closed by the applicant');
      await this.agreements.announceDestruction(bid.id, 'closed', tx);
      return this.readBid(tx, bid.id);
    });
    return result;
  }

  // ---- loading and validation ------------------------------------------------------------

  /** Locks the bid of the applicant's organisation, or 404 (never 403: its existence is not disclosed). */
  lockForApplicant(tx: EntityManager, id: string, organisationId: string): Promise<Bid> {
    return lockBidForApplicant(tx, id, organisationId);
  }

  /** Locks a bid the reviewer may read and act on (`lockBidForReviewer`), or 404. */
  lockForReviewer(tx: EntityManager, id: string, user: Principal): Promise<Bid> {
    return lockBidForReviewer(tx, id, user);
  }

  /** The bid with its agreement in force, read in `em` (what every bid answer returns; 404 outside `scope`). */
  readBid(
    em: EntityManager,
    id: string,
    scope?: ReturnType<typeof visibleBidsWhere>,
  ): Promise<BidWithAgreement> {
    return readBidRow(this.db, em, id, scope);
  }
}

/** SPEC §1: nobody acts as reviewer (screener, panel member, release officer) on their own organisation's bid. */
export function assertNotApplicant(user: Principal, bid: Bid, what: string): void {
  if (user.organisationId && user.organisationId === bid.organisationId)
    throw new ForbiddenError(
      what === 'vote on' ? BIDS_ERRORS.RECUSED : BIDS_ERRORS.SEGREGATION_OF_DUTIES,
      `You cannot ${what} a bid of your own organisation`,
    );
}
