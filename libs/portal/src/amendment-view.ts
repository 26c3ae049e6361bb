import type { PortalApi, PortalRequest } from './portal-api';

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
