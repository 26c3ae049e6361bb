import type TestAgent from 'supertest/lib/agent';
import type { AppConfig, Role } from '@custodian/core';

/** A signed-in test user, as `t.as` returns it. */
export interface SignedIn {
  user: { id: string; organisationId: string | null };
  auth: { Authorization: string };
}

/** How far a factory bid goes along its life (SPEC §4), each stage through the real API. */
export const BID_STAGES = ['draft', 'submitted', 'in_review', 'approved', 'active'] as const;
export type BidStage = (typeof BID_STAGES)[number];

export interface BidOptions {
  /** The applicant (default: a new researcher in a new organisation). */
  researcher?: SignedIn;
  /** Screens the bid into review (default: a new release officer of a reviewing organisation). */
  officer?: SignedIn;
  /** Vote approve, in order (default: `PANEL_QUORUM` new panel members of a reviewing organisation). */
  panel?: SignedIn[];
  /** Overrides of the request body of `POST /api/bids`. */
  body?: Record<string, unknown>;
}

/** A valid bid: pseudonymised GP data under s251 (SPEC §4's example, trimmed). */
export const BID_BODY = {
  title: 'Statins and stroke',
  purpose: 'Study of statins and stroke',
  publicBenefit: 'Fewer strokes in Leeds',
  legalBasis: 's251',
  legalBasisReference: 'CAG 7-07(a)/2013',
  requestedTier: 'pseudonymised',
  datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'code', 'event_date'] }],
  durationMonths: 12,
};

interface Harness {
  http: TestAgent;
  config: AppConfig;
  as(roles: Role | Role[], opts?: { organisationId?: string }): Promise<SignedIn>;
  factory: { organisation(o?: { name?: string; kind?: 'public_body' }): Promise<{ id: string }> };
}

export interface FactoryBid {
  id: string;
  researcher: SignedIn;
  officer?: SignedIn;
  panel?: SignedIn[];
}

/**
 * A bid at `stage`, taken there the way users take it (create, submit, screen, one approving vote
 * per panel member until the decision, accept the agreement), every step over HTTP and checked.
 */
export async function bidAt(t: Harness, stage: BidStage, o: BidOptions = {}): Promise<FactoryBid> {
  const reach = BID_STAGES.indexOf(stage);
  const researcher = o.researcher ?? (await t.as('researcher'));
  const created = await t.http
    .post('/api/bids')
    .set(researcher.auth)
    .send({ ...BID_BODY, ...o.body })
    .expect(201);
  const bid: FactoryBid = { id: created.body.id as string, researcher };
  if (reach < 1) return bid;
  await t.http.post(`/api/bids/${bid.id}/submit`).set(researcher.auth).expect(200);
  if (reach < 2) return bid;
  let reviewers: string | undefined;
  const reviewer = async () => (reviewers ??= (await t.factory.organisation({ kind: 'public_body' })).id);
  bid.officer = o.officer ?? (await t.as('release_officer', { organisationId: await reviewer() }));
  await t.http
    .post(`/api/bids/${bid.id}/screen`)
    .set(bid.officer.auth)
    .send({ outcome: 'accept', remarks: 'complete' })
    .expect(200);
  if (reach < 3) return bid;
  bid.panel =
    o.panel ??
    (await Promise.all(
      Array.from({ length: t.config.panelQuorum }, async () =>
        t.as('panel_member', { organisationId: await reviewer() }),
      ),
    ));
  for (const member of bid.panel) {
    const vote = await t.http
      .post(`/api/bids/${bid.id}/votes`)
      .set(member.auth)
      .send({ decision: 'approve', conflictOfInterest: false })
      .expect(201);
    if (vote.body.bidState !== 'in_review') break;
  }
  if (reach < 4) return bid;
  await t.http.post(`/api/bids/${bid.id}/agreement/accept`).set(researcher.auth).expect(200);
  return bid;
}
