import { createTestApp, TestApp } from '@custodian/testing';

type Session = Awaited<ReturnType<TestApp['as']>>;

/**
 * (Set-up copied from review15-governance.) Review 16 of 1e0c1ee (anonymised bids of event histories are `linkable`). At the anonymised tier an
 * amendment can turn a bid of shuffled rows into one of event histories (add `nhs_number`: the files
 * get `person_token`), which a pseudonymised amendment never could (the tier is fixed). The listing
 * reads only the version in force (`bids.service.ts linkageRisk` → the bid row), so while that
 * amendment is in review — its files "to come" carry histories — the reviewers of the
 * organisation's other linkable bids are not shown it, and the amendment's own reviewers see no
 * linkage risk at all (amendment.njk has no linkage section; the amendment API none).
 */
const bidBody = (over: Record<string, unknown> = {}) => ({
  title: 'Statins and stroke in Leeds',
  purpose: 'Study whether statin prescribing is associated with fewer strokes.',
  publicBenefit: 'Evidence for prescribing guidance on statins.',
  legalBasis: 's251',
  legalBasisReference: 'CAG 7-07(a)/2013',
  requestedTier: 'pseudonymised',
  datasets: [
    { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
  ],
  cohort: { practices: ['A81001'], postcodeAreas: ['LS'] },
  durationMonths: 12,
  ...over,
});

describe('review-16: linkageRisk and pending amendments of a bid already linkable', () => {
  let t: TestApp;
  let researcher: Session;
  let officer: Session;
  let panel: Session[];

  beforeAll(async () => {
    t = await createTestApp();
    const org = (await t.factory.organisation({ kind: 'academic' })).id;
    const centre = (await t.factory.organisation({ kind: 'public_body' })).id;
    researcher = await t.as('researcher', { organisationId: org });
    officer = await t.as('release_officer', { organisationId: centre });
    panel = await Promise.all([1, 2, 3].map(() => t.as('panel_member', { organisationId: centre })));
  });
  afterAll(() => t?.close());

  const create = async (over: Record<string, unknown> = {}) => {
    const res = await t.http.post('/api/bids').set(researcher.auth).send(bidBody(over));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const inReview = async (over: Record<string, unknown> = {}) => {
    const id = await create(over);
    await t.http.post(`/api/bids/${id}/submit`).set(researcher.auth).send().expect(200);
    await t.http
      .post(`/api/bids/${id}/screen`)
      .set(officer.auth)
      .send({ outcome: 'accept', remarks: 'ok' })
      .expect(200);
    return id;
  };
  const active = async (over: Record<string, unknown> = {}) => {
    const id = await inReview(over);
    for (const p of panel)
      await t.http
        .post(`/api/bids/${id}/votes`)
        .set(p.auth)
        .send({ decision: 'approve', conflictOfInterest: false })
        .expect(201);
    await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcher.auth).send().expect(200);
    return id;
  };

  // L1: asLinkable takes a pending amendment only where the content in force is NOT linkable. A
  // pseudonymised bid is always linkable, so an amendment in review that adds the linking fields
  // (date of birth, postcode, sex) or another dataset is never looked at: the overlap and the
  // linking fields reviewers are shown are of the content in force, the files to come carry more.
  it('L1: the linking fields of a pending amendment of a pseudonymised bid are shown', async () => {
    const a = await active({
      title: 'Narrow P',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
    });
    const amended = await t.http
      .post(`/api/bids/${a}/amendments`)
      .set(researcher.auth)
      .send({
        reason: 'We need demographics to adjust for confounding',
        datasets: [
          { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
        ],
      });
    expect(amended.status, JSON.stringify(amended.body)).toBe(201);
    const v = amended.body.version as number;
    await t.http.post(`/api/bids/${a}/amendments/${v}/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${a}/amendments/${v}/screen`)
      .set(officer.auth)
      .send({ outcome: 'accept', remarks: 'to the panel' })
      .expect(200);

    const b = await inReview({ title: 'Wide P' });
    const risk = (await t.http.get(`/api/bids/${b}`).set(panel[0].auth).expect(200)).body.linkageRisk;
    const listed = risk.otherPseudonymisedBids.find((o: { title: string }) => o.title === 'Narrow P');
    expect(listed).toBeDefined();
    // The amended files of 'Narrow P' share the linking fields with 'Wide P'.
    expect(listed.sharedFields).toEqual(
      expect.arrayContaining(['gp.date_of_birth', 'gp.postcode', 'gp.sex']),
    );
    // And the amended bid's own reviewers are told which linking fields its files will carry.
    const own = (await t.http.get(`/api/bids/${a}`).set(panel[0].auth).expect(200)).body.linkageRisk;
    expect(own.linkingFields).toEqual(expect.arrayContaining(['date_of_birth', 'postcode', 'sex']));
  });
});
