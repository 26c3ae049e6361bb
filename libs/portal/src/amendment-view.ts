import type { FastifyReply } from 'fastify';
import type { PortalApi, PortalRequest } from './portal-api';
import type { PortalViews } from './portal-views';
import type { formErrors } from './form';
import { Bid, getBid, listBids } from './bids-api';
import { applicantFacts } from './review-facts';
import { ofApplicant } from './own-organisation';

/** An amendment as GET /api/bids/:id/amendments/:version gives it (the parts the pages use). */
export interface Amendment {
  version: number;
  state: string;
  scope: 'narrowing' | 'widening' | null;
  reason: string | null;
  durationMonths: number;
  diff: { field: string; inForce: string | null; proposed: string | null; effect: 'narrows' | 'widens' }[];
  agreementReference: string | null;
}

export const getAmendment = (api: PortalApi, req: PortalRequest, id: string, version: number) =>
  api.expect<Amendment>(req, 'GET', `/api/bids/${encodeURIComponent(id)}/amendments/${version}`);

/** The diff as the pages show it: a table of field, in force, proposed (#25). */
export const diffRows = (a: Amendment) =>
  a.diff.map((d) => [
    { text: d.field },
    { text: d.inForce ?? 'Not requested / no restriction' },
    { text: d.proposed ?? 'Not requested / no restriction' },
    { text: d.effect === 'narrows' ? 'Narrows' : 'Widens' },
  ]);

/** A reviewer's page of an amendment (the officer's or the panel's): the bid, the amendment, its diff and the form. */
export async function reviewerPage(
  api: PortalApi,
  views: PortalViews,
  req: PortalRequest,
  reply: FastifyReply,
  page: {
    id: string;
    version: number;
    values: Record<string, unknown>;
    errors: ReturnType<typeof formErrors>;
    status: number;
  },
  role: (amendment: Amendment, bid: Bid) => Record<string, unknown>,
) {
  const [bid, amendment] = await Promise.all([
    getBid(api, req, page.id),
    getAmendment(api, req, page.id, page.version),
  ]);
  views.page(
    req,
    reply,
    'amendment.njk',
    {
      bid,
      facts: applicantFacts(bid),
      amendment,
      diffRows: diffRows(amendment),
      ...role(amendment, bid),
      values: page.values,
      errors: page.errors.list,
      fieldErrors: page.errors.byField,
    },
    page.status,
  );
}

/** Amendments of approved and active requests waiting in `state` (the officer's and the panel's queues). */
export async function amendmentsAwaiting(
  api: PortalApi,
  req: PortalRequest,
  state: string,
  linkBase: string,
  withoutOwn = false,
) {
  const bids = [...(await listBids(api, req, 'active')), ...(await listBids(api, req, 'approved'))];
  return (
    bids
      .filter((b) => b.pendingAmendment?.state === state)
      // Not the officer's to screen: their own organisation's (SPEC §1), as the requests' queue.
      .filter((b) => !withoutOwn || !ofApplicant(req, b))
      .map((b) => ({
        title: b.title,
        version: b.pendingAmendment!.version,
        scope: b.pendingAmendment!.scope,
        href: `${linkBase}/${b.id}/amendments/${b.pendingAmendment!.version}`,
      }))
  );
}
