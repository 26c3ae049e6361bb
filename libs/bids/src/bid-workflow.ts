import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { ConflictError, ForbiddenError, type Principal, type RequestMeta } from '@custodian/core';
import { NotificationsService } from '@custodian/notifications';
import { bidNotices } from './bid-notices';
import { checkTransition, type ActingRole, type BidAction, type BidState } from './bid-state';
import { Agreement, Bid, BidEvent, OPEN_VERSION_STATES } from './bid.entity';
import { BIDS_ERRORS } from './bids.errors';

/** Bid states that end it (no amendment can go on after them). */
const ENDED: readonly BidState[] = ['revoked', 'expired', 'closed'];

/** Who acts: a signed-in user, or the scheduler. */
export type Actor = Pick<Principal, 'id' | 'roles'> | { id: null; roles: ['system'] };
export const SYSTEM_ACTOR: Actor = { id: null, roles: ['system'] };

export interface EventInput {
  action: string;
  from?: BidState | null;
  to?: BidState | null;
  remarks?: string | null;
  internalNotes?: string | null;
  internal?: boolean;
  details?: Record<string, unknown>;
}

/**
 * Applies the state machine of bid-state.ts. Callers hold the bid row lock (SELECT … FOR UPDATE)
 * in `tx`; every change writes one bid event and one audit entry in the same transaction.
 */
@Injectable()
export class BidWorkflow {
  constructor(
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
  ) {}

  async transition(
    tx: EntityManager,
    bid: Bid,
    action: BidAction,
    actor: Actor,
    opts: Omit<EventInput, 'action' | 'from' | 'to'> & { meta?: RequestMeta; set?: Partial<Bid> } = {},
  ): Promise<Bid> {
    const check = checkTransition(action, bid.state, actor.roles as ActingRole[]);
    if (!check.ok) {
      if (check.reason === 'ROLE_NOT_ALLOWED')
        throw new ForbiddenError(BIDS_ERRORS.FORBIDDEN, 'Your roles do not allow this');
      throw new ConflictError(
        BIDS_ERRORS.ILLEGAL_TRANSITION,
        `A bid in state ${bid.state} cannot be ${describe(action)}`,
        {
          state: bid.state,
          action,
        },
      );
    }
    const from = bid.state;
    const to = check.transition.to;
    await tx.update(Bid, { id: bid.id }, { ...(opts.set ?? {}), state: to, updatedAt: new Date() });
    await this.event(tx, bid.id, actor, { ...opts, action, from, to });
    if (ENDED.includes(to)) await this.endOpenAmendment(tx, bid.id, actor, to, opts.meta);
    // Who needs to act or know hears of it: notices written in this transaction (#25), before the
    // change's audit entry, which stays the chain's head for what the caller binds to it (#24).
    await this.notifications.enqueue(
      tx,
      bidNotices({ ...bid, ...(opts.set ?? {}), state: to } as Bid, action),
    );
    await this.audit.record(
      {
        action: `bid.${action}`,
        actor: actor.id ? (actor as Principal) : null,
        bidId: bid.id,
        subjectType: 'bid',
        subjectId: bid.id,
        meta: opts.meta,
        details: { from, to, ...(opts.details ?? {}) },
      },
      tx,
    );
    return Object.assign(bid, opts.set ?? {}, { state: to });
  }

  /**
   * Named query for governance: did `userId` screen the bid into its current review (the latest
   * `screen_accept`)? bid_events is this library's table; others ask, they do not read it.
   */
  async screenedIntoReview(tx: EntityManager, bidId: string, userId: string): Promise<boolean> {
    const [row] = await tx.query(
      `SELECT 1 FROM bid_events WHERE bid_id = $1 AND action = 'screen_accept' AND actor_id = $2
         AND id = (SELECT max(id) FROM bid_events WHERE bid_id = $1 AND action = 'screen_accept')`,
      [bidId, userId],
    );
    return row !== undefined;
  }

  /**
   * Named query for governance: did `userId` screen amendment `version` into its current review
   * (the latest `amend_screen_accept` of that version)?
   */
  async screenedAmendmentIntoReview(
    tx: EntityManager,
    bidId: string,
    version: number,
    userId: string,
  ): Promise<boolean> {
    const [row] = await tx.query(
      `SELECT 1 FROM bid_events WHERE bid_id = $1 AND action = 'amend_screen_accept' AND actor_id = $3
         AND id = (SELECT max(id) FROM bid_events
                    WHERE bid_id = $1 AND action = 'amend_screen_accept' AND details->>'version' = $2::text)`,
      [bidId, version, userId],
    );
    return row !== undefined;
  }

  /** One row of the bid's history; state changes go through transition(). */
  /**
   * A bid that ends (revoked, expired, closed) takes its open amendment with it: the amendment is
   * withdrawn and an agreement version offered for it closed unaccepted, in the bid's history as
   * `amend_withdraw` (#25). Nothing can act on an amendment of an ended bid any more.
   */
  private async endOpenAmendment(
    tx: EntityManager,
    bidId: string,
    actor: Actor,
    to: BidState,
    meta: RequestMeta | undefined,
  ) {
    // The states they leave, for the audit entry. An UPDATE … RETURNING answers [rows, count]
    // through TypeORM's query runner.
    const [closed] = (await tx.query(
      `WITH open AS (
         SELECT version, state FROM bid_versions WHERE bid_id = $1 AND state = ANY($2::varchar[]) FOR UPDATE)
       UPDATE bid_versions v SET state = 'withdrawn', updated_at = now()
         FROM open WHERE v.bid_id = $1 AND v.version = open.version
       RETURNING v.version, open.state AS "from"`,
      [bidId, OPEN_VERSION_STATES],
    )) as [{ version: number; from: string }[], number];
    for (const { version, from } of closed) {
      await tx.update(
        Agreement,
        { bidId, bidVersion: version, status: 'offered' },
        { status: 'closed', endedAt: new Date(), endedBy: actor.id ?? null, endReason: `request ${to}` },
      );
      const details = { version, from, to: 'withdrawn', because: to };
      await this.event(tx, bidId, actor, {
        action: 'amend_withdraw',
        remarks: `The request was ${to}; its open amendment (version ${version}) ends with it.`,
        details,
      });
      // On the trail like every amendment's change of state (an applicant's withdrawal was; this
      // one was not: an outsider's probe, 2026-12-07).
      await this.auditAmendment(tx, bidId, version, 'withdraw', actor, meta, details);
    }
  }

  /** An amendment's change of state on the audit trail (`bid.amendment.<action>`, the version its subject). */
  async auditAmendment(
    tx: EntityManager,
    bidId: string,
    version: number,
    action: string,
    actor: Actor,
    meta: RequestMeta | undefined,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.record(
      {
        action: `bid.amendment.${action}`,
        actor: actor.id ? (actor as Principal) : null,
        bidId,
        subjectType: 'bid_version',
        subjectId: `${bidId}:v${version}`,
        meta,
        details,
      },
      tx,
    );
  }

  async event(tx: EntityManager, bidId: string, actor: Actor, e: EventInput): Promise<void> {
    await tx.insert(BidEvent, {
      bidId,
      actorId: actor.id,
      actorRoles: actor.roles as string[],
      action: e.action,
      fromState: e.from ?? null,
      toState: e.to ?? null,
      remarks: e.remarks ?? null,
      internalNotes: e.internalNotes ?? null,
      internal: e.internal ?? false,
      details: e.details ?? {},
    } as never);
  }
}

const describe = (action: BidAction) =>
  ({
    submit: 'submitted',
    withdraw: 'withdrawn',
    screen_accept: 'screened',
    screen_return: 'screened',
    decide_approve: 'decided',
    decide_reject: 'decided',
    decide_return: 'decided',
    accept_agreement: 'activated (agreement accepted)',
    revoke: 'revoked',
    expire: 'expired',
    close: 'closed',
  })[action];
