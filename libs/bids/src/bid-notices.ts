import type { NoticeRequest } from '@custodian/notifications';
import type { AmendmentAction } from './amendment-state';
import type { BidAction } from './bid-state';
import type { Bid } from './bid.entity';

const OUTCOME: Partial<Record<BidAction, string>> = {
  decide_approve: 'approved',
  decide_reject: 'rejected',
  decide_return: 'returned',
};

/** The applicant: the bid's submitter and its named recipients, while still of its organisation. */
export const applicantOf = (bid: Pick<Bid, 'createdBy' | 'recipients' | 'organisationId'>) => ({
  users: [...new Set([bid.createdBy, ...(bid.recipients ?? [])])],
  organisationId: bid.organisationId,
});

/**
 * Who hears of a bid's change (#25, docs/NOTIFICATIONS.md): the applicant (the submitter and the
 * named recipients, while still of the organisation), the release officers and the panel (never
 * those of the applicant's organisation). The messages themselves are the notifications library's.
 */
export function bidNotices(bid: Bid, action: BidAction): NoticeRequest[] {
  const base = { bidId: bid.id, params: { bidId: bid.id, title: bid.title } };
  const applicant = applicantOf(bid);
  const officers = { role: 'release_officer' as const, notOrganisationId: bid.organisationId };
  const panel = { role: 'panel_member' as const, notOrganisationId: bid.organisationId };
  const outcome = OUTCOME[action];
  switch (action) {
    case 'submit':
      return [{ ...base, kind: 'bid.submitted', to: officers }];
    case 'screen_return':
      return [{ ...base, kind: 'bid.returned', to: applicant }];
    case 'screen_accept':
      return [{ ...base, kind: 'bid.in_review', to: panel }];
    case 'decide_approve':
    case 'decide_reject':
    case 'decide_return':
      return [
        { ...base, kind: 'bid.quorum_reached', to: panel, params: { ...base.params, outcome } },
        { ...base, kind: 'bid.decided', to: applicant, params: { ...base.params, outcome } },
        ...(action === 'decide_approve'
          ? [{ ...base, kind: 'agreement.ready' as const, to: applicant }]
          : []),
      ];
    case 'accept_agreement':
      return [{ ...base, kind: 'bid.awaiting_release', to: officers }];
    case 'revoke':
      return [{ ...base, kind: 'bid.revoked', to: applicant }];
    case 'expire':
      return [{ ...base, kind: 'bid.expired', to: applicant }];
    default:
      return [];
  }
}

/** An amendment's step announced as the bid's own step would be (the officer's approval of a narrowing as a decision without a panel). */
const AS_BID_ACTION: Record<AmendmentAction, BidAction | null> = {
  submit: 'submit',
  withdraw: null,
  screen_accept: 'screen_accept',
  screen_return: 'screen_return',
  officer_approve: 'decide_approve',
  decide_approve: 'decide_approve',
  decide_reject: 'decide_reject',
  decide_return: 'decide_return',
  accept: 'accept_agreement',
};

/**
 * Who hears of an amendment's step (#25): the same people as for the bid's own step, the request
 * named with its version ("… (amendment v2)"); the panel hears of no quorum it did not reach.
 */
export function amendmentNotices(bid: Bid, version: number, action: AmendmentAction): NoticeRequest[] {
  const as = AS_BID_ACTION[action];
  if (!as) return [];
  const notices = bidNotices({ ...bid, title: `${bid.title} (amendment v${version})` } as Bid, as);
  return action === 'officer_approve' ? notices.filter((n) => n.kind !== 'bid.quorum_reached') : notices;
}
