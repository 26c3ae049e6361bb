import type { DataSource } from 'typeorm';
import type { Principal } from '@custodian/core';
import type { AuditRow } from './audit.service';

/**
 * What an auditor of a bid's organisation (researcher there or not) does not read of its entries
 * (`AuditService.list`, `withholdFromApplicant`), by action: what an applicant may not see.
 */
const WITHHELD = 'withheld: your organisation is the applicant';
/**
 * Nothing of the member: their id, and the address and request id they acted from, which their own
 * entries (a sign-in, read with its actor) carry too (probe 36: the address named the voter).
 */
const memberWithheld = (i: AuditRow) => {
  i.actorId = null;
  i.ip = null;
  i.requestId = null;
};
/** A vote's entry as its applicant's auditor reads it: neither the member nor their decision. */
const voteWithheld = (i: AuditRow) => {
  const { round, version } = i.details as { round?: unknown; version?: unknown };
  memberWithheld(i);
  i.actorRoles = [];
  i.details = {
    ...(round !== undefined && { round }),
    ...(version !== undefined && { version }),
    vote: WITHHELD,
  };
};
/**
 * The panel's decision as its applicant's auditor reads it: the decision and its conditions, not the
 * member whose vote reached quorum (the entry is written in their name), as the bid's history shows
 * it (probe 36: the vote entries were withheld, this one named the deciding member).
 */
const deciderWithheld = (i: AuditRow) => {
  memberWithheld(i);
  i.actorRoles = ['panel_member'];
};
/** The panel's decisions on a request and on an amendment (`bid.<action>`, `bid.amendment.<action>`). */
const PANEL_DECISIONS = ['decide_approve', 'decide_reject', 'decide_return'].flatMap((a) => [
  `bid.${a}`,
  `bid.amendment.${a}`,
]);
export const WITHHELD_FROM_APPLICANT: Record<string, (i: AuditRow) => void> = {
  'release.verification_failed': (i) => {
    i.details = { ...i.details, reason: WITHHELD };
  },
  'bid.vote': voteWithheld,
  'bid.amendment.vote': voteWithheld,
  ...Object.fromEntries(PANEL_DECISIONS.map((a) => [a, deciderWithheld])),
};

/** Entries whose actor an applicant's auditor does not read (`voteWithheld`, `deciderWithheld`). */
const ACTOR_WITHHELD = ['bid.vote', 'bid.amendment.vote', ...PANEL_DECISIONS];

/**
 * The trail read by `actorId` by an auditor of an organisation: the actor's vote
 * and decision entries on that organisation's bids are left out (a condition added to `where`, its values to
 * `params`), since they come without their actor — else filtering by a member's id told whether
 * they voted.
 */
export async function leaveOutWithheldActor(
  db: DataSource,
  actorId: string,
  viewer: Pick<Principal, 'roles' | 'organisationId'> | undefined,
  applicantBids: ((bidIds: string[], organisationId: string) => Promise<string[]>) | undefined,
  where: string[],
  params: unknown[],
): Promise<void> {
  if (!viewer?.organisationId) return;
  const voted: { id: string }[] = await db.query(
    `SELECT DISTINCT bid_id::text AS id FROM audit_log WHERE actor_id = $1 AND action = ANY($2) AND bid_id IS NOT NULL`,
    [actorId, ACTOR_WITHHELD],
  );
  if (!voted.length) return;
  // Without the bids' answer (a process without them), every such entry is left out: fail closed.
  const ids = voted.map((v) => v.id);
  const mine = applicantBids ? await applicantBids(ids, viewer.organisationId) : ids;
  if (!mine.length) return;
  params.push(ACTOR_WITHHELD, mine);
  where.push(`NOT (action = ANY($${params.length - 1}::text[]) AND bid_id = ANY($${params.length}::uuid[]))`);
}
