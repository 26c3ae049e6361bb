import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { AgreementsService, BIDS_SOURCE, LOCK_BID_SQL, Releasable, REVIEWER_BID_SQL } from '@custodian/bids';
import { ConflictError, ForbiddenError, NotFoundError, Principal, RequestMeta } from '@custodian/core';
import { ReleaseService } from './release.service';
import type { ReleaseSpec, ReleaseState } from './release.types';
import { RELEASE_ERRORS } from './release.errors';

/** What the panel approved and the agreement covers, and nothing else, as the engine's input. */
export function specFromReleasable(r: Releasable, requestedBy: string): ReleaseSpec {
  return {
    bidId: r.bid.id,
    organisationId: r.organisationId,
    agreementReference: r.agreement.reference,
    agreementVersion: r.agreement.version,
    tier: r.grantedTier,
    legalBasis: r.legalBasis,
    datasets: r.datasets.map((d) => ({ dataset: d.dataset, fields: [...d.fields] })),
    cohort: { ...(r.cohort ?? {}) },
    ...(r.grantedTier === 'aggregate' && r.aggregation
      ? { aggregation: { dimensions: [...r.aggregation.dimensions] } }
      : {}),
    consentCohort: r.legalBasis === 'consent',
    recipients: [...r.recipients],
    requestedBy,
  } as ReleaseSpec;
}

/**
 * `POST /api/bids/:id/releases`: a release officer asks for a release of an active bid whose
 * agreement is in force. Segregation of duties (SPEC §1): not of the applicant organisation, did not
 * vote on the bid, never an administrator. One release of a bid at a time.
 */
@Injectable()
export class BidReleasesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly agreements: AgreementsService,
    private readonly releases: ReleaseService,
    private readonly audit: AuditService,
  ) {}

  async request(
    actor: Principal,
    bidId: string,
    meta: RequestMeta,
  ): Promise<{ id: string; state: ReleaseState }> {
    const audited = (code: string, details: Record<string, unknown> = {}) =>
      this.audit.record({
        action: 'release.denied',
        outcome: 'denied',
        actor,
        bidId,
        subjectType: 'Bid',
        subjectId: bidId,
        meta,
        details: { code, ...details },
      });
    const deny = async (code: string, message: string) => {
      await audited(code);
      return new ForbiddenError(code, message);
    };
    // Reviewers see every bid that was submitted; anything else does not exist for them.
    const [bid] = await this.db.query(REVIEWER_BID_SQL, [bidId]);
    if (!bid) throw new NotFoundError(RELEASE_ERRORS.NOT_FOUND, 'Bid'); // as every other bid route answers
    if (actor.roles.includes('admin'))
      throw await deny(RELEASE_ERRORS.SEGREGATION_OF_DUTIES, 'Administrators never generate releases');
    if (actor.organisationId && actor.organisationId === bid.organisation_id)
      throw await deny(
        RELEASE_ERRORS.SEGREGATION_OF_DUTIES,
        'A release officer of the applicant organisation cannot release its bid',
      );

    // The spec is built once, inside the transaction that locks the bid and writes the release,
    // so the checks that made it hold when the row is written.
    const build = async (tx: EntityManager): Promise<ReleaseSpec> => {
      await tx.query(LOCK_BID_SQL, [bidId]);
      const releasable = await this.agreements.findReleasable(bidId, tx);
      if (!releasable)
        throw new ConflictError(
          RELEASE_ERRORS.BID_NOT_ACTIVE,
          'Only an active bid whose agreement is in force can be released',
        );
      if (releasable.voters.includes(actor.id))
        throw new ForbiddenError(
          RELEASE_ERRORS.SEGREGATION_OF_DUTIES,
          'Who voted on this bid, or approved an amendment of it alone, does not release it: another release officer does',
        );
      // One release of an organisation at a time (its bids' requests take turns on the
      // organisation's lock): each release's guards compare it with the organisation's releases
      // completed before it started, so two made at once would never be compared with each other
      // (a review, 2026-12-07: two aggregate tables prepared together did not see each other).
      await tx.query(
        `SELECT pg_advisory_xact_lock(hashtext('custodian:release-organisation'), hashtext($1))`,
        [bid.organisation_id],
      );
      const [busy] = await tx.query(
        `SELECT r.id, r.bid_id FROM releases r JOIN ${BIDS_SOURCE} b ON b.id = r.bid_id
          WHERE b.organisation_id = $1 AND r.state IN ('queued','running') LIMIT 1`,
        [bid.organisation_id],
      );
      if (busy)
        throw new ConflictError(
          RELEASE_ERRORS.RELEASE_IN_PROGRESS,
          busy.bid_id === bidId
            ? 'A release of this bid is already queued or running'
            : "A release of another of the organisation's bids is queued or running: an organisation's releases are made one at a time, so that each is compared with the last",
          {
            releaseId: busy.id,
          },
        );
      return specFromReleasable(releasable, actor.id);
    };
    // A refusal is audited after its transaction rolled back.
    return this.releases.request(build, actor, meta).catch(async (e) => {
      if (e instanceof ForbiddenError) throw await deny(e.code, e.message);
      // A release refused because one of the organisation's is queued or running leaves its entry too.
      if (e instanceof ConflictError && e.code === RELEASE_ERRORS.RELEASE_IN_PROGRESS)
        await audited(e.code, e.details ?? {});
      throw e;
    });
  }
}
