import type { AuditService } from '@custodian/audit';
import { BIDS_ERRORS } from '@custodian/bids';
import { requestMeta, type Role } from '@custodian/core';
import type { PortalApi, PortalRequest } from './portal-api';
import type { BidEvent } from './bids-api';

/**
 * Whether the signed-in user is of the applicant organisation of `bid`. SPEC §1: "nobody acts as
 * panel member or release officer on a bid of their own organisation" — the API refuses them (403);
 * the portal offered them the vote, the screening and "Generate a release", and answered with a bare
 * "You cannot do this" page that lost what they had typed (probe 21). Pages say why instead.
 */
export const ofApplicant = (req: PortalRequest, bid: { organisationId?: string }): boolean => {
  const mine = req.portal?.session.auth?.user.organisationId;
  return !!mine && mine === bid.organisationId;
};

/** What a reviewer of the applicant organisation reads in place of the form. */
export const OWN_ORGANISATION = {
  panel:
    'This request is from your own organisation, so you are recused: you cannot vote on it. Other members of the panel decide it.',
  screening:
    'This request is from your own organisation, so you cannot screen it. Another release officer screens it.',
  release:
    'This request is from your own organisation, so you cannot release its data. Another release officer does.',
} as const;

/**
 * SPEC §1: the administrator "never votes on or releases a bid", whatever other roles they hold (a
 * user may hold several). The API refuses both (`voterRefusal`, `BidReleasesService`); the portal
 * offered an administrator who is also a panel member the vote, and one who is also a release
 * officer "Generate a release", then showed the bare "You cannot do this" page (probe 35).
 */
export const ADMINISTRATOR = {
  panel:
    'As well as a panel member, you are an administrator, so you cannot vote: administrators never vote on requests. Other members of the panel decide it.',
  release:
    'As well as a release officer, you are an administrator, so another release officer releases its data: administrators never release requests.',
} as const;

export const isAdministrator = (req: PortalRequest): boolean =>
  req.portal?.session.auth?.user.roles.includes('admin') ?? false;

/**
 * Why the signed-in reviewer may not vote on (`panel`) or release (`release`) `bid`, in the words the
 * page shows in place of the form; undefined when they may.
 */
export function cannotAct(
  req: PortalRequest,
  bid: { organisationId?: string },
  what: keyof typeof ADMINISTRATOR,
): { text: string; segregation: boolean } | undefined {
  if (isAdministrator(req)) return { text: ADMINISTRATOR[what], segregation: true };
  return ofApplicant(req, bid) ? { text: OWN_ORGANISATION[what], segregation: false } : undefined;
}

/** SPEC §1: the release officer who generates a release did not vote on that bid (the API's `voters`). */
export const VOTED =
  'You voted on this request as a panel member, so you cannot release its data: another release officer does.';
/** Nor approve an amendment of it alone (the API counts that approval as a vote: probe 36). */
export const APPROVED_ALONE =
  'You approved an amendment of this request alone, so you cannot release its data: another release officer does.';

/**
 * Why the signed-in release officer may not release `bid` (`cannotAct`, or a vote of theirs on it in
 * any round, recused or not, or an amendment of it they approved alone, as the API counts), else
 * undefined; reads the bid's events for them.
 */
export async function releaseRefusal(
  api: PortalApi,
  req: PortalRequest,
  bid: { id: string; organisationId?: string },
): Promise<{ text: string; segregation: boolean } | undefined> {
  const refused = cannotAct(req, bid, 'release');
  if (refused) return refused;
  const me = req.portal?.session.auth?.user.id;
  const events = await api.call<BidEvent[]>(req, 'GET', `/api/bids/${bid.id}/events`);
  const mine =
    events.status === 200 && Array.isArray(events.body) ? events.body.filter((e) => e.actorId === me) : [];
  if (mine.some((e) => e.action === 'vote' || e.action === 'vote_recused'))
    return { text: VOTED, segregation: true };
  if (mine.some((e) => e.action === 'amend_officer_approve'))
    return { text: APPROVED_ALONE, segregation: true };
  return undefined;
}

/** The API's `screenedIt`: who screened a request (or an amendment) into review does not vote in that round. */
export const screened = (what: 'request' | 'amendment') =>
  `You screened this ${what} into the panel’s review as release officer, so you cannot vote on it in this round: other members of the panel decide it.`;

/**
 * Why the signed-in panel member may not vote on `bid` (or its amendment `version`) now: `cannotAct`,
 * or the latest screening into review (of that version) was theirs, as the API decides; else undefined.
 */
export function voteRefusal(
  req: PortalRequest,
  bid: { organisationId?: string },
  events: BidEvent[],
  version?: number,
): { text: string; segregation: boolean } | undefined {
  const refused = cannotAct(req, bid, 'panel');
  if (refused) return refused;
  const me = req.portal?.session.auth?.user.id;
  const screening = events
    .filter((e) =>
      version === undefined
        ? e.action === 'screen_accept'
        : e.action === 'amend_screen_accept' && Number(e.details?.version) === version,
    )
    .at(-1);
  return me && screening?.actorId === me
    ? { text: screened(version === undefined ? 'request' : 'amendment'), segregation: true }
    : undefined;
}

/** The text a refused form carried, kept for the person to copy (nothing of it was sent). */
export const keptText = (...parts: unknown[]): string =>
  parts.filter((p): p is string => typeof p === 'string' && p.trim() !== '').join('\n\n');

/** The API route each refused form stands for, and the code the API refuses it with (bids.service.ts). */
const REFUSED = {
  panel: { route: '/api/bids/:id/votes', code: BIDS_ERRORS.RECUSED },
  screening: { route: '/api/bids/:id/screen', code: BIDS_ERRORS.SEGREGATION_OF_DUTIES },
  release: { route: '/api/bids/:id/releases', code: BIDS_ERRORS.SEGREGATION_OF_DUTIES },
  amendmentScreening: {
    route: '/api/bids/:id/amendments/:version/screen',
    code: BIDS_ERRORS.SEGREGATION_OF_DUTIES,
  },
} as const;

/** An administrator's vote and release, a screener's vote, a voter's release: segregation of duties. */
const SEGREGATION = BIDS_ERRORS.SEGREGATION_OF_DUTIES;

/**
 * The refusal on the audit trail, as the API's 403 is recorded (`access.denied`, AuditDenialsInterceptor):
 * the portal answers a reviewer of the applicant organisation without calling the API, and such an
 * attempt left no entry (SPEC §6: authorisation denials are audited). Counted when repeated.
 */
export async function auditOwnRefusal(
  audit: AuditService,
  req: PortalRequest,
  bidId: string,
  what: keyof typeof REFUSED,
  segregation = false,
): Promise<void> {
  const user = req.portal?.session.auth?.user;
  await audit.recordDenial({
    action: 'access.denied',
    outcome: 'denied',
    actor: user ? { id: user.id, roles: user.roles as Role[] } : null,
    bidId,
    subjectType: 'bids',
    subjectId: bidId,
    meta: requestMeta(req),
    details: {
      method: 'POST',
      route: REFUSED[what].route,
      status: 403,
      code: segregation ? SEGREGATION : REFUSED[what].code,
      via: 'portal',
    },
  });
}
