import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { CatalogService } from '@custodian/catalog';
import { NotificationsService } from '@custodian/notifications';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  type Principal,
  type RequestMeta,
} from '@custodian/core';
import { amendmentDiff, type AmendableContent } from './amendment-diff';
import { assertAmendable, contentOf, merged, readAmendment, toAmendmentDto } from './amendment-content';
import {
  AMENDABLE_BID_STATES,
  AMENDMENT_EDITABLE,
  amendmentVerb,
  checkAmendmentTransition,
  type AmendmentAction,
} from './amendment-state';
import type { AmendmentDto, CreateAmendmentDto, UpdateAmendmentDto } from './amendment.dto';
import { AgreementsService } from './agreements.service';
import { applicantOrg, reviewerScope, reviewersSeeVersion, visibleBidsWhere } from './bid-access';
import { validateBidContent } from './bid-content';
import { amendmentNotices } from './bid-notices';
import { lockBidForApplicant, lockBidForReviewer, requireApplicantOrg } from './bid-locks';
import type { ActingRole } from './bid-state';
import { BidWorkflow, type Actor } from './bid-workflow';
import { Agreement, Bid, BidVersion, OPEN_VERSION_STATES } from './bid.entity';
import { BIDS_ERRORS } from './bids.errors';

/**
 * Amendments of approved or active bids (#25): a new version of the same bid, screened and decided
 * like a bid, on its field-by-field difference from the version in force. The bid row keeps the
 * version in force (what releases read) until the applicant accepts the amendment's agreement.
 * This class owns `bid_versions`; governance screens and decides through its named methods.
 */
@Injectable()
export class BidAmendmentsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly catalog: CatalogService,
    private readonly workflow: BidWorkflow,
    private readonly agreements: AgreementsService,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
  ) {}

  // ---- the applicant -----------------------------------------------------------------------

  async create(user: Principal, bidId: string, dto: CreateAmendmentDto, meta?: RequestMeta) {
    const org = requireApplicantOrg(user);
    return this.db.transaction(async (tx) => {
      const bid = await lockBidForApplicant(tx, bidId, org);
      assertAmendable(bid);
      const open = await tx.findOne(BidVersion, { where: { bidId, state: In([...OPEN_VERSION_STATES]) } });
      if (open)
        throw new ConflictError(BIDS_ERRORS.AMENDMENT_OPEN, 'This bid already has an open amendment', {
          version: open.version,
        });
      await this.snapshot(tx, bid);
      const content = await this.checked(tx, bid, merged(contentOf(bid), dto));
      const [{ next }] = await tx.query(
        `SELECT coalesce(max(version), 1) + 1 AS next FROM bid_versions WHERE bid_id = $1`,
        [bidId],
      );
      const row = await tx.save(
        tx.create(BidVersion, {
          bidId,
          version: next,
          baseVersion: bid.version,
          state: 'draft',
          scope: content.scope,
          reason: dto.reason,
          ...content.content,
          createdBy: user.id,
        }),
      );
      await this.workflow.event(tx, bidId, user, {
        action: 'amend_create',
        details: { version: row.version, scope: row.scope },
      });
      await this.audit.record(
        {
          action: 'bid.amendment.create',
          actor: user,
          bidId,
          subjectType: 'bid_version',
          subjectId: `${bidId}:v${row.version}`,
          meta,
          details: { version: row.version, baseVersion: bid.version, scope: row.scope },
        },
        tx,
      );
      return readAmendment(tx, bid, row.version, true);
    });
  }

  async update(user: Principal, bidId: string, version: number, dto: UpdateAmendmentDto, meta?: RequestMeta) {
    const org = requireApplicantOrg(user);
    return this.db.transaction(async (tx) => {
      const bid = await lockBidForApplicant(tx, bidId, org);
      const row = await this.version(tx, bidId, version);
      if (!AMENDMENT_EDITABLE.includes(row.state))
        throw new ConflictError(
          BIDS_ERRORS.BID_NOT_EDITABLE,
          `An amendment in state ${row.state} cannot be edited`,
          { state: row.state },
        );
      assertAmendable(bid);
      const base = await this.version(tx, bidId, row.baseVersion!);
      const content = await this.checked(tx, bid, merged(contentOf(row), dto), contentOf(base));
      await tx.update(
        BidVersion,
        { bidId, version },
        {
          ...content.content,
          scope: content.scope,
          ...(dto.reason !== undefined ? { reason: dto.reason } : {}),
          updatedAt: new Date(),
        },
      );
      await this.audit.record(
        {
          action: 'bid.amendment.update',
          actor: user,
          bidId,
          subjectType: 'bid_version',
          subjectId: `${bidId}:v${version}`,
          meta,
          details: { version, changed: Object.keys(dto), scope: content.scope },
        },
        tx,
      );
      return readAmendment(tx, bid, version, true);
    });
  }

  async submit(user: Principal, bidId: string, version: number, meta?: RequestMeta) {
    const org = requireApplicantOrg(user);
    return this.db.transaction(async (tx) => {
      const bid = await lockBidForApplicant(tx, bidId, org);
      const row = await this.version(tx, bidId, version);
      await this.transition(tx, bid, row, 'submit', user, { meta, set: { submittedAt: new Date() } });
      return readAmendment(tx, bid, version, true);
    });
  }

  async withdraw(user: Principal, bidId: string, version: number, remarks?: string, meta?: RequestMeta) {
    const org = requireApplicantOrg(user);
    return this.db.transaction(async (tx) => {
      const bid = await lockBidForApplicant(tx, bidId, org);
      const row = await this.version(tx, bidId, version);
      const declined = row.state === 'approved';
      await this.transition(tx, bid, row, 'withdraw', user, { meta, remarks: remarks ?? null });
      // Withdrawn after approval: the agreement version offered for it is closed, never accepted,
      // and the version in force stays as it was (another amendment may then be opened).
      if (declined)
        await tx.update(
          Agreement,
          { bidId, bidVersion: version, status: 'offered' },
          {
            status: 'closed',
            endedAt: new Date(),
            endedBy: user.id,
            endReason: 'amendment withdrawn by the applicant',
          },
        );
      return readAmendment(tx, bid, version, true);
    });
  }

  // ---- reading -------------------------------------------------------------------------------

  /** The bid's versions the caller may see, newest first (never-submitted ones: its own organisation only). */
  async list(user: Principal, bidId: string): Promise<AmendmentDto[]> {
    const bid = await this.visibleBid(user, bidId);
    const own = applicantOrg(user) === bid.organisationId;
    const rows = await this.db
      .getRepository(BidVersion)
      .find({ where: { bidId }, order: { version: 'DESC' } });
    const agreements = await this.db.getRepository(Agreement).find({ where: { bidId } });
    return rows
      .filter((r) => own || reviewersSeeVersion(r, reviewerScope(user)))
      .map((r) => toAmendmentDto(bid, r, rows, agreements));
  }

  async get(user: Principal, bidId: string, version: number): Promise<AmendmentDto> {
    const bid = await this.visibleBid(user, bidId);
    const own = applicantOrg(user) === bid.organisationId;
    return readAmendment(this.db.manager, bid, version, own, reviewerScope(user));
  }

  /** Governance (screening and the panel): locks the bid and reads an amendment reviewers may act on (it was submitted), or 404. */
  async lockForReview(tx: EntityManager, bidId: string, version: number, user: Principal) {
    const bid = await lockBidForReviewer(tx, bidId, user);
    const amendment = await tx.findOne(BidVersion, { where: { bidId, version } });
    if (!amendment || !reviewersSeeVersion(amendment, reviewerScope(user)))
      throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Amendment');
    // Version 1 is the request as first approved, which the reader can see: screening or voting on it
    // is a transition it does not have (409, SPEC §4), not something that does not exist (an
    // outsider's probe, 2026-12-06: it was 404).
    if (amendment.baseVersion === null)
      throw new ConflictError(
        BIDS_ERRORS.ILLEGAL_TRANSITION,
        'Version 1 is the request as first approved, not an amendment: it is not screened or voted on',
        { state: amendment.state },
      );
    return { bid, amendment };
  }

  /** The amendment's difference from the version it amends, recomputed from the stored versions. */
  async diffOf(tx: EntityManager, bid: Bid, amendment: BidVersion) {
    const base = await this.version(tx, bid.id, amendment.baseVersion!);
    return amendmentDiff(contentOf(base), contentOf(amendment), bid.grantedTier!);
  }

  /**
   * Applies an amendment transition (amendment-state.ts): the version's new state, one bid event
   * (`amend_<action>`, in the bid's history with its remarks) and one audit entry, in `tx`.
   */
  async transition(
    tx: EntityManager,
    bid: Bid,
    amendment: BidVersion,
    action: AmendmentAction,
    actor: Actor,
    opts: {
      meta?: RequestMeta;
      remarks?: string | null;
      internalNotes?: string | null;
      details?: Record<string, unknown>;
      set?: Partial<BidVersion>;
    } = {},
  ): Promise<BidVersion> {
    const check = checkAmendmentTransition(action, amendment.state, actor.roles as ActingRole[]);
    if (!check.ok) {
      if (check.reason === 'ROLE_NOT_ALLOWED')
        throw new ForbiddenError(BIDS_ERRORS.FORBIDDEN, 'Your roles do not allow this');
      throw new ConflictError(
        BIDS_ERRORS.ILLEGAL_TRANSITION,
        `An amendment in state ${amendment.state} cannot be ${amendmentVerb(action)}`,
        { state: amendment.state, action },
      );
    }
    if (action !== 'withdraw' && action !== 'accept') assertAmendable(bid);
    const from = amendment.state;
    const to = check.transition.to;
    if (action === 'screen_accept') {
      // A review round of its own, counted on the bid's rounds so votes keep one key (bid, round, voter).
      const round = bid.reviewRound + 1;
      await tx.update(Bid, { id: bid.id }, { reviewRound: round });
      bid.reviewRound = round;
      opts = { ...opts, set: { ...(opts.set ?? {}), reviewRound: round } };
    }
    await tx.update(
      BidVersion,
      { bidId: bid.id, version: amendment.version },
      { ...(opts.set ?? {}), state: to, updatedAt: new Date() },
    );
    const details = { version: amendment.version, from, to, ...(opts.details ?? {}) };
    await this.workflow.event(tx, bid.id, actor, {
      action: `amend_${action}`,
      remarks: opts.remarks ?? null,
      internalNotes: opts.internalNotes ?? null,
      details,
    });
    // Who needs to act or know hears of it, as for the bid's own changes (#25), before the audit
    // entry, which stays the chain's head for the register line bound to it (#24).
    await this.notifications.enqueue(tx, amendmentNotices(bid, amendment.version, action));
    await this.workflow.auditAmendment(tx, bid.id, amendment.version, action, actor, opts.meta, details);
    return Object.assign(amendment, opts.set ?? {}, { state: to });
  }

  /**
   * The amendment approved (by the officer alone when it narrows, or by the panel): the agreement's
   * next version is offered with the conditions in force plus `conditions`. Returns it.
   */
  async offerAgreement(tx: EntityManager, bid: Bid, amendment: BidVersion, conditions: string[]) {
    const all = [...new Set([...bid.conditions, ...conditions])];
    await tx.update(BidVersion, { bidId: bid.id, version: amendment.version }, { conditions: all });
    return this.agreements.offerVersion(tx, bid, amendment.version, {
      durationMonths: amendment.durationMonths,
      conditions: all,
    });
  }

  /**
   * `POST /api/bids/:id/agreement/accept` when the agreement offered is an amendment's: the
   * amendment comes into force — the bid row takes its content and version (releases follow it from
   * now on), the version it replaces and the earlier agreement are superseded. False when the offer
   * is not an amendment's (the bid's own first acceptance).
   */
  async acceptOffered(tx: EntityManager, bid: Bid, user: Principal, meta?: RequestMeta): Promise<boolean> {
    const offer = await this.agreements.latest(tx, bid.id);
    if (!offer || offer.status !== 'offered' || offer.bidVersion <= bid.version) return false;
    const amendment = await this.version(tx, bid.id, offer.bidVersion);
    if (!(AMENDABLE_BID_STATES as readonly string[]).includes(bid.state))
      throw new ConflictError(
        BIDS_ERRORS.ILLEGAL_TRANSITION,
        `A bid in state ${bid.state} cannot be activated (agreement accepted)`,
        { state: bid.state, action: 'accept_agreement' },
      );
    // Only the term changed (from the version in force): the releases made under it stay theirs.
    const termOnly =
      amendment.baseVersion === bid.version &&
      (await this.diffOf(tx, bid, amendment)).entries.every((e) => e.field === 'durationMonths');
    await this.agreements.activateVersion(tx, offer, user, termOnly);
    if (bid.state === 'approved')
      await this.workflow.transition(tx, bid, 'accept_agreement', user, {
        meta,
        details: { agreementVersion: offer.version },
      });
    await tx.query(
      `UPDATE bid_versions SET state = 'superseded', updated_at = now() WHERE bid_id = $1 AND state = 'in_force'`,
      [bid.id],
    );
    await this.transition(tx, bid, amendment, 'accept', user, {
      meta,
      details: { agreement: offer.reference, supersedes: bid.version },
    });
    await tx.update(
      Bid,
      { id: bid.id },
      {
        ...contentOf(amendment),
        conditions: offer.conditions,
        version: amendment.version,
        updatedAt: new Date(),
      },
    );
    return true;
  }

  // ---- inside ------------------------------------------------------------------------------

  /**
   * The version in force as a row of its own (version 1's content is otherwise only on the bid).
   * Only where it has none: a later version in force is already an amendment's row, and a copy of
   * it (without its base) broke `bid_versions_amendment_base` before `ON CONFLICT` was looked at —
   * PostgreSQL checks a row's constraints before the conflict (every second amendment was a 500:
   * an outsider's probe, 2026-12-07).
   */
  private async snapshot(tx: EntityManager, bid: Bid): Promise<void> {
    await tx.query(
      `INSERT INTO bid_versions (bid_id, version, state, datasets, cohort, aggregation, duration_months, recipients,
                                 conditions, created_by, created_at, submitted_at, decided_at)
       SELECT b.id, b.version, 'in_force', b.datasets, b.cohort, b.aggregation, b.duration_months, b.recipients,
              b.conditions, b.created_by, b.created_at, b.submitted_at, b.decided_at
         FROM bids b
        WHERE b.id = $1
          AND NOT EXISTS (SELECT 1 FROM bid_versions v WHERE v.bid_id = b.id AND v.version = b.version)
       ON CONFLICT (bid_id, version) DO NOTHING`,
      [bid.id],
    );
  }

  /** Validates the proposed content as a bid's and compares it with the base (default: in force). */
  private async checked(tx: EntityManager, bid: Bid, proposed: AmendableContent, base = contentOf(bid)) {
    await validateBidContent(tx, this.catalog, bid.organisationId, {
      title: bid.title,
      purpose: bid.purpose,
      publicBenefit: bid.publicBenefit,
      legalBasis: bid.legalBasis,
      legalBasisReference: bid.legalBasisReference,
      requestedTier: bid.grantedTier ?? bid.requestedTier,
      ...proposed,
    });
    const diff = amendmentDiff(base, proposed, bid.grantedTier!);
    if (!diff.scope)
      throw new ValidationError(BIDS_ERRORS.AMENDMENT_EMPTY, 'The amendment changes nothing in force');
    return { content: proposed, scope: diff.scope };
  }

  private async version(tx: EntityManager, bidId: string, version: number): Promise<BidVersion> {
    const row = await tx.findOne(BidVersion, { where: { bidId, version } });
    if (!row) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Amendment');
    return row;
  }

  private async visibleBid(user: Principal, bidId: string): Promise<Bid> {
    const scope = visibleBidsWhere(user, 2);
    const [row] = await this.db.query(`SELECT b.id FROM bids b WHERE b.id = $1 AND ${scope.sql}`, [
      bidId,
      ...scope.params,
    ]);
    if (!row) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
    return this.db.getRepository(Bid).findOneByOrFail({ id: bidId });
  }
}
