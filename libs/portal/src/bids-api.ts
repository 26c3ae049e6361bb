import type { PortalApi, PortalRequest } from './portal-api';
import type { CatalogAnswer } from './columns';
import { ApiCallError } from './portal-errors';

/** The parts of the API's BidDto the pages use. */
export interface Bid {
  id: string;
  state: string;
  title: string;
  purpose: string;
  publicBenefit: string;
  legalBasis: string;
  legalBasisReference: string | null;
  requestedTier: string;
  grantedTier: string | null;
  datasets: { dataset: string; fields: string[] }[];
  cohort: Record<string, unknown>;
  aggregation: { dimensions: string[] } | null;
  durationMonths: number;
  conditions: string[];
  agreement: {
    reference: string;
    status: string;
    tier: string;
    durationMonths: number;
    startDate: string | null;
    endDate: string | null;
  } | null;
  cohortSize?: number | null;
  /** The version in force, and the open amendment once submitted (#25). */
  version?: number;
  pendingAmendment?: { version: number; state: string; scope: string | null } | null;
  organisation?: { name: string; kind: string; commercial: boolean };
  /** The applicant organisation's id (own-organisation.ts). */
  organisationId?: string;
  createdAt: string;
  updatedAt: string;
  submittedAt?: string | null;
  decidedAt: string | null;
}

export interface BidEvent {
  id: string;
  at: string;
  action: string;
  actorId?: string | null;
  actorRoles?: string[];
  fromState: string | null;
  toState: string | null;
  remarks: string | null;
  details: Record<string, unknown>;
}

export interface Release {
  id: string;
  bidId?: string;
  state: string;
  progress: { rowsDone?: number; rowsEstimated?: number | null } | number;
  phase?: string;
  createdAt?: string;
  startedAt?: string | null;
  completedAt?: string | null;
  tier: string;
  files: { name: string; rows: number; bytes: number; sha256: string }[];
  failureReason?: string;
  excluded?: Record<string, unknown>;
  manifest?: Record<string, unknown>;
  riskReport?: Record<string, unknown>;
  /** Whether its files can be downloaded now (the API's view). */
  downloadable?: boolean;
  /** When its files were destroyed (the agreement ended): from the public register's release line. */
  filesDestroyedAt?: string | null;
}

/**
 * The risk report as the applicant and the public may see it: only a report with the small-number
 * rule applied (the API marks it with `rule`); an exact report (a caller who is staff too) or an odd
 * one shows nothing rather than exact figures.
 */
export const publicRiskReportOf = (report: unknown): Record<string, unknown> | undefined =>
  report && typeof report === 'object' && typeof (report as { rule?: unknown }).rule === 'string'
    ? (report as Record<string, unknown>)
    : undefined;

/**
 * Every bid the caller may see (in a state), page after page of the API's 200: the lists that use it
 * show or order them all (a queue is ordered across every bid). It read the first page only, so the
 * 201st bid of a list could not be found in the portal (a helper's sweep, 2026-12-07).
 */
export async function listBids(api: PortalApi, req: PortalRequest, state?: string): Promise<Bid[]> {
  const bids: Bid[] = [];
  for (let page = 1; ; page++) {
    const { items, total } = await api.expect<{ items: Bid[]; total: number }>(
      req,
      'GET',
      `/api/bids?limit=${API_PAGE}&page=${page}${state ? `&state=${state}` : ''}`,
    );
    bids.push(...items);
    if (items.length < API_PAGE || bids.length >= total) return bids;
  }
}
/** The API's largest page of bids. */
const API_PAGE = 200;

export const getBid = (api: PortalApi, req: PortalRequest, id: string) =>
  api.expect<Bid>(req, 'GET', `/api/bids/${encodeURIComponent(id)}`);

/**
 * The researcher's pages: a bid of the signed-in user's own organisation, else the unknown id's 404.
 * The API lets a reviewer read every submitted bid, and a researcher may also be a panel member or
 * release officer (SPEC §1: several roles): the researcher's pages opened another organisation's
 * request as the person's own, with its edit, withdrawal and amendment offered (probe 35).
 */
export async function getOwnBid(api: PortalApi, req: PortalRequest, id: string): Promise<Bid> {
  const bid = await getBid(api, req, id);
  if (!ofOwnOrganisation(req, bid)) throw new ApiCallError(404, { message: 'Bid not found' });
  return bid;
}

/** The signed-in user's own organisation's bids (the researcher's list), as `getOwnBid` reads one. */
export const listOwnBids = async (api: PortalApi, req: PortalRequest): Promise<Bid[]> =>
  (await listBids(api, req)).filter((b) => ofOwnOrganisation(req, b));

const ofOwnOrganisation = (req: PortalRequest, bid: { organisationId?: string }) =>
  !!bid.organisationId && bid.organisationId === req.portal?.session.auth?.user.organisationId;

export const getCatalog = (api: PortalApi, req: PortalRequest) =>
  api.expect<CatalogAnswer>(req, 'GET', '/api/datasets');

/**
 * The releases of a bid. SPEC §7 has no list of a bid's releases, so they are found where the
 * contract shows them: the bid's history (release events) and the public register (one line per
 * release); each is then read with GET /api/releases/:id, which decides who may see it.
 */
export async function releasesOfBid(api: PortalApi, req: PortalRequest, bidId: string): Promise<Release[]> {
  const ids = new Set<string>();
  const destroyed = new Map<string, string>();
  const events = await api.call<BidEvent[]>(req, 'GET', `/api/bids/${bidId}/events`);
  if (events.status === 200 && Array.isArray(events.body))
    for (const e of events.body) {
      const id = e.details?.releaseId;
      if (typeof id === 'string') ids.add(id);
    }
  const register = await api.anonymous<
    { bidId: string; releaseId: string | null; filesDestroyedAt?: string | null }[]
  >(req, 'GET', '/api/register');
  if (register.status === 200 && Array.isArray(register.body))
    for (const l of register.body)
      if (l.bidId === bidId && l.releaseId) {
        ids.add(l.releaseId);
        if (l.filesDestroyedAt) destroyed.set(l.releaseId, l.filesDestroyedAt);
      }
  const out: Release[] = [];
  for (const id of ids) {
    const r = await api.call<Release>(req, 'GET', `/api/releases/${id}`);
    if (r.status === 200) out.push({ ...r.body, filesDestroyedAt: destroyed.get(id) ?? null });
  }
  return out;
}

/** The remarks of the latest return of amendment `version` (by a release officer or the panel), if any. */
export const returnRemarks = (events: BidEvent[], version: number): string | undefined =>
  [...events]
    .reverse()
    .find(
      (e) => /^amend_(screen|decide)_return$/.test(e.action) && e.details?.version === version && e.remarks,
    )?.remarks ?? undefined;
