import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { JobsService } from '@custodian/database';
import { ConflictError, type Principal } from '@custodian/core';
import { NotificationsService } from '@custodian/notifications';
import { applicantOf } from './bid-notices';
import { objectionHandling, type ObjectionHandling } from './bid-rules';
import { BID_VOTERS, type BidVoters } from './bid-voters';
import { BidWorkflow, SYSTEM_ACTOR } from './bid-workflow';
import { Agreement, agreementReference, Bid, type AgreementStatus } from './bid.entity';
import { BIDS_ERRORS } from './bids.errors';

/** Queue of the expiry sweep (every five minutes). */
export const AGREEMENTS_SWEEP_QUEUE = 'agreements.sweep';
/** Queue the release module consumes: delete a bid's release files (with a destruction record). */
export const RELEASE_DESTROY_QUEUE = 'release.destroy';
export interface ReleaseDestroyJob {
  bidId: string;
  reason: 'expired' | 'revoked' | 'closed' | 'superseded';
  /** `superseded`: the releases made under agreement versions before this one go. */
  beforeVersion?: number;
}

/** What the release engine needs to release a bid, when (and only when) it may. */
export interface Releasable {
  bid: Bid;
  agreement: Agreement;
  organisationId: string;
  recipients: string[];
  grantedTier: NonNullable<Bid['grantedTier']>;
  legalBasis: Bid['legalBasis'];
  datasets: Bid['datasets'];
  cohort: Bid['cohort'];
  aggregation: Bid['aggregation'];
  objections: ObjectionHandling;
  /**
   * Everyone who voted on the bid in any round (recused or not), and every release officer who
   * approved an amendment of it alone (a decision as a vote is: probe 36): they may not release it.
   */
  voters: string[];
}

/**
 * Data sharing agreements: offered on approval, in force from the applicant's acceptance for
 * durationMonths (the agreement ends on end_date), revoked by an admin or expired by the sweep.
 */
/** The agreement in force has reached its end date: an amendment is neither approved nor brought into force (review 41). */
const agreementEnded = () =>
  new ConflictError(
    BIDS_ERRORS.AMENDMENT_TERM_ENDED,
    'The agreement in force has reached its end date: it has ended, and an amendment is no longer approved or brought into force',
  );

@Injectable()
export class AgreementsService {
  private readonly logger = new Logger('Agreements');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly workflow: BidWorkflow,
    private readonly jobs: JobsService,
    @Inject(BID_VOTERS) private readonly voters: BidVoters,
    private readonly notifications: NotificationsService,
  ) {}

  /** On approval (in the deciding transaction): a new agreement version, `DSA-<year>-<nnnn>-v<version>`. */
  async offer(tx: EntityManager, bid: Bid): Promise<Agreement> {
    const [{ number, year, version }] = await tx.query(
      `SELECT nextval('agreement_number_seq')::int AS number, extract(year FROM now() AT TIME ZONE 'UTC')::int AS year,
              coalesce((SELECT max(version) FROM agreements WHERE bid_id = $1), 0) + 1 AS version`,
      [bid.id],
    );
    return tx.save(
      tx.create(Agreement, {
        bidId: bid.id,
        number,
        year,
        version,
        reference: agreementReference(year, number, version),
        status: 'offered',
        tier: bid.grantedTier!,
        durationMonths: bid.durationMonths,
        conditions: bid.conditions,
      }),
    );
  }

  /**
   * On an amendment's approval (in the deciding transaction): the agreement's next version for the
   * amended bid version, under the same reference number (`DSA-<year>-<nnnn>-v2`, …), at the tier in
   * force, with the conditions in force and those the approval adds. The version in force stays in
   * force until the applicant accepts this one. Refused once the agreement in force has reached its
   * end date (ended, though the sweep has not yet expired the bid): nothing could come into force,
   * and the approval would write a public register line for an ended agreement (review 41).
   */
  async offerVersion(
    tx: EntityManager,
    bid: Bid,
    bidVersion: number,
    terms: { durationMonths: number; conditions: string[] },
  ): Promise<Agreement> {
    const [inForce]: { ended: boolean }[] = await tx.query(
      `SELECT end_date <= (now() AT TIME ZONE 'UTC')::date AS ended FROM agreements WHERE bid_id = $1 AND status = 'active'`,
      [bid.id],
    );
    if (inForce?.ended) throw agreementEnded();
    const [first] = await tx.query(
      `SELECT number, year, (SELECT max(version) FROM agreements WHERE bid_id = $1) + 1 AS version
         FROM agreements WHERE bid_id = $1 ORDER BY version LIMIT 1`,
      [bid.id],
    );
    if (!first) throw new Error('an amendment of a bid without an agreement');
    return tx.save(
      tx.create(Agreement, {
        bidId: bid.id,
        number: first.number,
        year: first.year,
        version: first.version,
        bidVersion,
        reference: agreementReference(first.year, first.number, first.version),
        status: 'offered',
        tier: bid.grantedTier!,
        durationMonths: terms.durationMonths,
        conditions: terms.conditions,
      }),
    );
  }

  /** The applicant accepts the offered agreement (its latest version): it is in force from today. */
  async activate(tx: EntityManager, bid: Bid, user: Principal): Promise<void> {
    await tx.query(
      `UPDATE agreements SET status = 'active', accepted_at = now(), accepted_by = $2,
              start_date = (now() AT TIME ZONE 'UTC')::date,
              end_date = ((now() AT TIME ZONE 'UTC')::date + make_interval(months => duration_months))::date
        WHERE id = (SELECT id FROM agreements WHERE bid_id = $1 AND status = 'offered' ORDER BY version DESC LIMIT 1)`,
      [bid.id, user.id],
    );
  }

  /** The bid's latest agreement version, or null. */
  latest(tx: EntityManager, bidId: string): Promise<Agreement | null> {
    return tx.findOne(Agreement, { where: { bidId }, order: { version: 'DESC' } });
  }

  /**
   * An amendment's agreement comes into force: every other version of the bid still offered or in
   * force is superseded, and this one runs from today to the end of the term counted from the
   * agreement's first start (the amended duration). Refused when that end has already come, or when
   * the agreement in force has reached its own end date (ended, though not yet swept).
   * `termOnly`: the amendment changed the term alone, so the releases the version in force keeps
   * (same content, same recipients) are kept by this one too; otherwise they are destroyed.
   */
  async activateVersion(
    tx: EntityManager,
    agreement: Agreement,
    user: Principal,
    termOnly = false,
  ): Promise<void> {
    const [term] = await tx.query(
      `SELECT (coalesce(min(start_date), (now() AT TIME ZONE 'UTC')::date) + make_interval(months => $2::int))::date::text AS end_date,
              (coalesce(min(start_date), (now() AT TIME ZONE 'UTC')::date) + make_interval(months => $2::int))::date
                > (now() AT TIME ZONE 'UTC')::date AS open
         FROM agreements WHERE bid_id = $1 AND start_date IS NOT NULL`,
      [agreement.bidId, agreement.durationMonths],
    );
    if (!term.open)
      throw new ConflictError(
        BIDS_ERRORS.AMENDMENT_TERM_ENDED,
        'The amended term would already have ended: the agreement in force stays as it is',
      );
    const [kept]: { from: number; ended: boolean }[] = await tx.query(
      `SELECT coalesce(releases_from, version) AS from, end_date <= (now() AT TIME ZONE 'UTC')::date AS ended
         FROM agreements WHERE bid_id = $1 AND status = 'active'`,
      [agreement.bidId],
    );
    // The agreement in force has ended on its end date (the expiry sweep, every five minutes, has not
    // yet moved the bid to expired): it is not replaced by one running from today, which revived its
    // ended term and, for a term-only amendment, the files downloads had stopped (review 41).
    if (kept?.ended) throw agreementEnded();
    const releasesFrom = termOnly && kept ? Math.min(kept.from, agreement.version) : agreement.version;
    await tx.query(
      `UPDATE agreements SET status = 'superseded', ended_at = now(), ended_by = $3, end_reason = $4
        WHERE bid_id = $1 AND id <> $2 AND status IN ('offered','active')`,
      [agreement.bidId, agreement.id, user.id, `superseded by ${agreement.reference}`],
    );
    await tx.query(
      `UPDATE agreements SET status = 'active', accepted_at = now(), accepted_by = $2,
              start_date = (now() AT TIME ZONE 'UTC')::date, end_date = $3::date,
              releases_from = $4::int
        WHERE id = $1 AND status = 'offered'`,
      [agreement.id, user.id, term.end_date, releasesFrom],
    );
    // The files released under the versions it replaces were made to their terms (recipients,
    // fields, tier), which are no longer in force: their downloads stop and they are destroyed, as
    // on an agreement's end (probe 23: a recipient an amendment took off kept downloading them).
    // A term-only amendment keeps them (`releases_from`): only what it does not keep goes.
    const job: ReleaseDestroyJob = {
      bidId: agreement.bidId,
      reason: 'superseded',
      beforeVersion: releasesFrom,
    };
    await this.jobs.sendInTransaction(tx, RELEASE_DESTROY_QUEUE, job, {
      singletonKey: `${agreement.bidId}:superseded:${agreement.version}`,
    });
  }

  async end(
    tx: EntityManager,
    bidId: string,
    status: Extract<AgreementStatus, 'revoked' | 'expired' | 'closed'>,
    by: string | null,
    reason: string,
  ): Promise<void> {
    await tx.query(
      `UPDATE agreements SET status = $2, ended_at = now(), ended_by = $3, end_reason = $4
        WHERE bid_id = $1 AND status IN ('offered','active')`,
      [bidId, status, by, reason],
    );
  }

  /**
   * Tells the release module to delete the bid's files, and marks the agreement announced. With
   * `tx` (the transaction that ended the agreement) the job is enqueued in it: it exists exactly
   * when the end does. Without, sent on its own; an ended agreement left unmarked (an older
   * process died in between) is announced again by the next sweep, so destruction is requested at
   * least once.
   */
  async announceDestruction(
    bidId: string,
    reason: ReleaseDestroyJob['reason'],
    tx?: EntityManager,
  ): Promise<void> {
    const job: ReleaseDestroyJob = { bidId, reason };
    const opts = { singletonKey: `${bidId}:${reason}` };
    if (tx) await this.jobs.sendInTransaction(tx, RELEASE_DESTROY_QUEUE, job, opts);
    else await this.jobs.send<ReleaseDestroyJob>(RELEASE_DESTROY_QUEUE, job, opts);
    await (tx ?? this.db.manager).query(
      `UPDATE agreements SET destruction_announced_at = now()
        WHERE bid_id = $1 AND status IN ('expired','revoked','closed') AND destruction_announced_at IS NULL`,
      [bidId],
    );
  }

  /** Re-announces ended agreements whose announcement did not happen (older than a minute). */
  async announcePendingDestructions(): Promise<number> {
    const rows: { bid_id: string; status: ReleaseDestroyJob['reason'] }[] = await this.db.query(
      `SELECT DISTINCT bid_id, status FROM agreements
        WHERE status IN ('expired','revoked','closed') AND destruction_announced_at IS NULL
          AND ended_at < now() - interval '1 minute'`,
    );
    for (const r of rows) await this.announceDestruction(r.bid_id, r.status);
    return rows.length;
  }

  /**
   * Moves every active agreement whose end date has come (end_date <= the given day) to expired, and
   * its bid to `expired`, one transaction per agreement that also announces the destruction of its files.
   * Returns the bids expired. Safe to run concurrently (SKIP LOCKED) and repeatedly.
   */
  async sweepExpired(now: Date = new Date()): Promise<string[]> {
    const day = now.toISOString().slice(0, 10);
    const expired: string[] = [];
    for (;;) {
      const bidId = await this.db.transaction(async (tx) => {
        const [row] = await tx.query(
          `SELECT a.bid_id FROM agreements a JOIN bids b ON b.id = a.bid_id
            WHERE a.status = 'active' AND a.end_date <= $1::date AND b.state = 'active'
            ORDER BY a.end_date LIMIT 1 FOR UPDATE OF a, b SKIP LOCKED`,
          [day],
        );
        if (!row) return null;
        const bid = await tx.findOneByOrFail(Bid, { id: row.bid_id });
        await this.workflow.transition(tx, bid, 'expire', SYSTEM_ACTOR, {
          remarks: 'The data sharing agreement reached its end date',
        });
        await this.end(tx, bid.id, 'expired', null, 'end date reached');
        await this.announceDestruction(bid.id, 'expired', tx);
        return bid.id as string;
      });
      if (!bidId) break;
      expired.push(bidId);
    }
    const resent = await this.announcePendingDestructions();
    if (expired.length || resent) this.logger.log({ expired: expired.length, resent }, 'agreements swept');
    return expired;
  }

  /**
   * The daily notice sweep (#25): the applicant hears, once per agreement version, that an active
   * agreement ends within 30 days. Idempotent (the notice's dedupe key is the agreement's id).
   */
  async noticeExpiring(now: Date = new Date()): Promise<number> {
    const day = now.toISOString().slice(0, 10);
    return this.db.transaction(async (tx) => {
      const rows: { id: string; reference: string; end: string; bid_id: string }[] = await tx.query(
        `SELECT a.id, a.reference, a.end_date::text AS end, a.bid_id FROM agreements a JOIN bids b ON b.id = a.bid_id
          WHERE a.status = 'active' AND b.state = 'active'
            AND a.end_date > $1::date AND a.end_date <= $1::date + 30
          ORDER BY a.end_date, a.id`,
        [day],
      );
      let queued = 0;
      for (const r of rows) {
        const bid = await tx.findOneByOrFail(Bid, { id: r.bid_id });
        queued += await this.notifications.enqueue(tx, {
          kind: 'agreement.expiring',
          to: applicantOf(bid),
          bidId: bid.id,
          subject: { type: 'Agreement', id: r.id },
          params: { bidId: bid.id, title: bid.title, date: r.end, reference: r.reference },
          dedupeKey: `agreement.expiring:${r.id}`,
        });
      }
      return queued;
    });
  }

  /**
   * For the release engine: the bid and its agreement when the bid is active and the agreement is
   * active and in date today; otherwise null. Pass `tx` to read inside the caller's transaction.
   */
  async findReleasable(bidId: string, tx: EntityManager = this.db.manager): Promise<Releasable | null> {
    const [row] = await tx.query(
      `SELECT a.id FROM agreements a JOIN bids b ON b.id = a.bid_id
        WHERE b.id = $1 AND b.state = 'active' AND a.status = 'active'
          AND a.start_date <= (now() AT TIME ZONE 'UTC')::date AND a.end_date > (now() AT TIME ZONE 'UTC')::date`,
      [bidId],
    );
    if (!row) return null;
    const bid = await tx.findOneByOrFail(Bid, { id: bidId });
    const agreement = await tx.findOneByOrFail(Agreement, { id: row.id });
    return {
      bid,
      agreement,
      organisationId: bid.organisationId,
      recipients: bid.recipients,
      grantedTier: bid.grantedTier!,
      legalBasis: bid.legalBasis,
      datasets: bid.datasets,
      cohort: bid.cohort,
      aggregation: bid.aggregation,
      objections: objectionHandling(bid.legalBasis, bid.grantedTier!),
      voters: [
        ...new Set([
          ...(await this.voters.votersOf(bidId, tx)),
          ...(
            (await tx.query(
              `SELECT DISTINCT actor_id::text AS id FROM bid_events
                WHERE bid_id = $1 AND action = 'amend_officer_approve' AND actor_id IS NOT NULL`,
              [bidId],
            )) as { id: string }[]
          ).map((r) => r.id),
        ]),
      ],
    };
  }
}
