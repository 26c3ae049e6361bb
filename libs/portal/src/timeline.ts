import { TRANSITIONS } from '@custodian/bids';
import type { BidEvent } from './bids-api';
import type { PortalRequest } from './portal-api';

/** Who acted, by role (never a panel member's name): the state machine says which role takes each action. */
const ROLE_TEXT: Record<string, string> = {
  researcher: 'Your organisation',
  release_officer: 'Release officer',
  panel_member: 'The panel',
  admin: 'Administrator',
  system: 'Custodian (automatic)',
};

const ACTION_TEXT: Record<string, string> = {
  create: 'Draft created',
  submit: 'Submitted for screening',
  withdraw: 'Withdrawn',
  screen_accept: 'Accepted into the panel’s review',
  screen_return: 'Returned by the release officer',
  decide_approve: 'Approved by the panel',
  decide_reject: 'Rejected by the panel',
  decide_return: 'Returned by the panel',
  accept_agreement: 'Agreement accepted: the request is active',
  revoke: 'Agreement revoked',
  expire: 'Agreement expired',
  close: 'Agreement ended early by your organisation',
  vote: 'Panel vote',
  vote_recused: 'Panel vote (recused, not counted)',
  // Amendments (#25): the change asked for after approval, in the same words.
  amend_create: 'Amendment drafted',
  amend_submit: 'Amendment submitted for screening',
  amend_withdraw: 'Amendment withdrawn',
  amend_screen_accept: 'Amendment accepted into the panel’s review',
  amend_screen_return: 'Amendment returned by the release officer',
  amend_officer_approve: 'Amendment approved by the release officer',
  amend_decide_approve: 'Amendment approved by the panel',
  amend_decide_reject: 'Amendment rejected by the panel',
  amend_decide_return: 'Amendment returned by the panel',
  amend_accept: 'Amendment accepted: the agreement is varied',
  amend_vote: 'Panel vote on the amendment',
  amend_vote_recused: 'Panel vote on the amendment (recused, not counted)',
};

export interface TimelineEntry {
  at: string;
  title: string;
  who: string;
  state: string | null;
  remarks: string | null;
  internalNotes: string | null;
  conditions: string[];
  grantedTier: string | null;
  releaseId: string | null;
}

const roleOf = (e: BidEvent): string =>
  TRANSITIONS.find((t) => t.action === e.action)?.by ??
  (e.action.startsWith('vote') ? 'panel_member' : (e.actorRoles?.[0] ?? 'system'));

/** The bid's history (GET /api/bids/:id/events) in words: what happened, when, by which role. */
export function timelineOf(events: BidEvent[], req: PortalRequest, applicant = true): TimelineEntry[] {
  const me = req.portal?.session.auth?.user.id;
  return events.map((e) => {
    const role = roleOf(e);
    const d = e.details ?? {};
    let who = ROLE_TEXT[role] ?? role.replace(/_/g, ' ');
    if (role === 'researcher')
      who = !applicant ? 'The applicant' : e.actorId && e.actorId === me ? 'You' : 'Your organisation';
    return {
      at: String(e.at),
      title:
        ACTION_TEXT[e.action] ??
        `${e.action.charAt(0).toUpperCase()}${e.action.slice(1).replace(/[_.]/g, ' ')}`,
      who,
      state: e.toState,
      remarks: e.remarks,
      internalNotes: (e as { internalNotes?: string | null }).internalNotes ?? null,
      conditions: Array.isArray(d.conditions) ? (d.conditions as string[]) : [],
      grantedTier: typeof d.grantedTier === 'string' ? d.grantedTier : null,
      releaseId: typeof d.releaseId === 'string' ? d.releaseId : null,
    };
  });
}
