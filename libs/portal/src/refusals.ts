import { BIDS_ERRORS } from '@custodian/bids';
import { RELEASE_ERRORS } from '@custodian/release';
import { PortalPageError } from './portal-errors';

/**
 * The API's refusals of a change (409) in the words of the people using the portal. The API speaks
 * to programs ("A bid in state in_review cannot be screened"); a page says where the request stands
 * and what that means ("This request is in review by the panel, so it cannot be screened now").
 */

/** Where a request stands, as a sentence ends: "This request is …". */
export const STATE_WORDS: Record<string, string> = {
  draft: 'a draft that has not been submitted',
  submitted: 'submitted and waiting to be screened',
  returned: 'returned to the applicant for changes',
  in_review: 'in review by the panel',
  approved: 'approved, and its agreement has still to be accepted',
  rejected: 'rejected by the panel',
  active: 'active: its agreement is in force',
  expired: 'ended: its agreement expired',
  revoked: 'ended: its agreement was revoked',
  closed: 'closed',
  withdrawn: 'withdrawn',
  // An amendment's own states.
  superseded: 'replaced by a later version',
  accepted: 'accepted and in force',
};

export const stateWords = (state: string): string => STATE_WORDS[state] ?? state.replace(/_/g, ' ');

/** The page for a change a request's state does not allow: "This request cannot be amended now". */
export const notNow = (bid: { state: string }, what: string) =>
  new PortalPageError(
    409,
    `This request cannot be ${what} now`,
    `It is ${stateWords(bid.state)}. Go back to the request to see where it has got to.`,
  );

/** What the person tried, as "… so it cannot be …" ends. */
const ACTION_WORDS: Record<string, string> = {
  submit: 'submitted',
  withdraw: 'withdrawn',
  screen_accept: 'screened',
  screen_return: 'screened',
  screen_approve: 'screened',
  decide_approve: 'decided',
  decide_reject: 'decided',
  decide_return: 'decided',
  accept_agreement: 'accepted (its agreement)',
  accept: 'accepted',
  revoke: 'revoked',
  expire: 'ended',
  close: 'closed',
};

const PANEL_DONE = new Set([
  'approved',
  'rejected',
  'returned',
  'active',
  'expired',
  'revoked',
  'closed',
  'withdrawn',
]);

/** A 409's message for a person, or undefined when the body is not a refusal the portal knows. */
export function plainRefusal(
  body: { code?: string; message?: string; details?: unknown } | undefined,
): string | undefined {
  const message = body?.message ?? '';
  const details = (body?.details ?? {}) as { state?: unknown; action?: unknown };
  if (body?.code === BIDS_ERRORS.CONSENT_COHORT_REQUIRED)
    return 'Attach the NHS numbers of the people who consented before you submit the request.';
  if (body?.code === RELEASE_ERRORS.RELEASE_NOT_DOWNLOADABLE)
    return 'The files of this release are no longer available: they were deleted when the agreement they were made under ended or was replaced by an amendment.';
  if (body?.code === RELEASE_ERRORS.AGREEMENT_NOT_IN_FORCE)
    return 'The data sharing agreement is no longer in force, so its files cannot be downloaded.';
  if (body?.code === RELEASE_ERRORS.RELEASE_NOT_COMPLETED)
    return 'The release is not complete yet: its files appear when it is.';
  const what = /^An amendment\b/.test(message) || /\bamendments\b/.test(message) ? 'amendment' : 'request';
  const state =
    typeof details.state === 'string'
      ? details.state
      : (/in state (\w+)/.exec(message)?.[1] ?? /\(this one is (\w+)\)/.exec(message)?.[1]);
  if (!state) return undefined;
  if (/^Votes are taken only/.test(message))
    return PANEL_DONE.has(state)
      ? `This ${what} is no longer in review: it is ${stateWords(state)}. Votes are taken only while the panel reviews it.`
      : `This ${what} is not in review yet: it is ${stateWords(state)}. Votes are taken only while the panel reviews it.`;
  const action = typeof details.action === 'string' ? details.action : undefined;
  let verb = (action && ACTION_WORDS[action]) ?? /cannot be (.+)$/.exec(message)?.[1] ?? 'changed';
  if (action === 'accept_agreement' || /agreement accepted/.test(verb))
    return `This ${what} is ${stateWords(state)}, so its agreement cannot be accepted now.`;
  verb = verb.replace(/\s*\(.*\)$/, '');
  return `This ${what} is ${stateWords(state)}, so it cannot be ${verb} now.`;
}

/**
 * The request a page acts on, from its address (`/requests/:id/…`, `/screening/:id`, `/panel/:id/…`):
 * a refusal page links back to it.
 */
export function requestPageOf(url: string): string | undefined {
  const m =
    /^\/(requests|screening|panel)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?=\/|\?|$)/i.exec(
      url,
    );
  return m ? `/${m[1]}/${m[2].toLowerCase()}` : undefined;
}
