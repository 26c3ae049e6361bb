import { SESSION_COOKIE } from '@custodian/portal';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';

type Session = Awaited<ReturnType<TestApp['as']>>;

/**
 * #27 "Pseudonymised tier across bids": birth year-month, postcode district and sex are unique for
 * most persons, so two pseudonymised bids of one organisation can be joined one-to-one although
 * they share no pseudonym. A governance control: the officer and panel see the organisation's
 * other active pseudonymised bids with their overlap, and the agreement carries a no-linkage
 * condition unless the panel approved linkage.
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
    { dataset: 'hes', fields: ['nhs_number', 'admission_date', 'diagnosis_icd10'] },
  ],
  cohort: { practices: ['A81001'], postcodeAreas: ['LS'] },
  durationMonths: 12,
  ...over,
});

describe('pseudonymised bids of one organisation: the linkage risk is shown and conditioned', () => {
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

  const cookieOf = (res: { headers: Record<string, unknown> }) =>
    ([] as string[])
      .concat((res.headers['set-cookie'] as string[] | string | undefined) ?? [])
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
      ?.split(';')[0];
  const portalSession = async (email: string) => {
    const page = await t.http.get('/sign-in').expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookieOf(page)!)
      .type('form')
      .send({ _csrf: csrf, email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    return cookieOf(res)!;
  };
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
  const approve = async (id: string, vote: Record<string, unknown> = {}) => {
    for (const p of panel)
      await t.http
        .post(`/api/bids/${id}/votes`)
        .set(p.auth)
        .send({ decision: 'approve', conflictOfInterest: false, ...vote })
        .expect(201);
  };
  const active = async (over: Record<string, unknown> = {}) => {
    const id = await inReview(over);
    await approve(id);
    await t.http.post(`/api/bids/${id}/agreement/accept`).set(researcher.auth).send().expect(200);
    return id;
  };

  it('the officer and the panel see the other active pseudonymised bids and their overlap; the applicant does not', async () => {
    const first = await active({ title: 'First study' });
    // An aggregate bid of the organisation is listed for what its counts and the files' give away
    // together (countsDisclose), not as linkable.
    const counts = await active({
      title: 'Counts',
      requestedTier: 'aggregate',
      legalBasis: 'none',
      legalBasisReference: undefined,
      datasets: [{ dataset: 'gp', fields: ['code'] }],
      aggregation: { dimensions: ['sex'] },
    });
    const second = await inReview({
      title: 'Second study',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'ethnicity'] }],
      cohort: { practices: ['A81001', 'B82002'] },
    });
    for (const who of [officer, panel[0]]) {
      const body = (await t.http.get(`/api/bids/${second}`).set(who.auth).expect(200)).body;
      expect(body.linkageRisk).toEqual({
        otherPseudonymisedBids: [
          {
            id: first,
            title: 'First study',
            state: 'active',
            tier: 'pseudonymised',
            histories: true,
            objectionsDiffer: false,
            countsDisclose: false,
            sharedDatasets: ['gp'],
            sharedFields: ['gp.nhs_number', 'gp.date_of_birth', 'gp.postcode', 'gp.sex'],
            cohortsMayOverlap: true,
          },
          {
            id: counts,
            title: 'Counts',
            state: 'active',
            tier: 'aggregate',
            histories: false,
            objectionsDiffer: true,
            countsDisclose: true,
            sharedDatasets: ['gp'],
            sharedFields: [],
            cohortsMayOverlap: true,
          },
        ],
        linkingFields: ['date_of_birth', 'postcode', 'sex'],
        histories: false,
        condition: expect.stringMatching(/^No linkage/),
      });
    }
    const own = (await t.http.get(`/api/bids/${second}`).set(researcher.auth).expect(200)).body;
    expect(own).not.toHaveProperty('linkageRisk');
    // The portal pages of the officer (screening) and the panel show it; the applicant's does not.
    for (const [who, page] of [
      [officer, `/screening/${second}`],
      [panel[0], `/panel/${second}`],
    ] as const) {
      const html = (
        await t.http
          .get(page)
          .set('cookie', await portalSession(who.user.email))
          .expect(200)
      ).text;
      expect(html).toContain("Linkage with the organisation's other pseudonymised bids");
      expect(html).toContain('First study');
      expect(html).toContain('gp.date_of_birth, gp.postcode, gp.sex');
    }
    const mine = (
      await t.http
        .get(`/requests/${second}`)
        .set('cookie', await portalSession(researcher.user.email))
        .expect(200)
    ).text;
    expect(mine).not.toContain('Linkage with the organisation');
  });

  it('the agreement carries a no-linkage condition unless every approving vote approved linkage', async () => {
    const plain = await inReview({ title: 'Plain' });
    await approve(plain);
    const a = (await t.http.get(`/api/bids/${plain}`).set(researcher.auth).expect(200)).body;
    expect(a.agreement.conditions).toEqual([expect.stringMatching(/^No linkage/)]);
    const linked = await inReview({ title: 'Linked' });
    await approve(linked, { approveLinkage: true });
    const b = (await t.http.get(`/api/bids/${linked}`).set(researcher.auth).expect(200)).body;
    expect(b.agreement.conditions).toEqual([]);
  });

  it('lists bids in review at the same time, identifiable ones, and ended ones; an identifiable request sees it too (an attacker’s probe)', async () => {
    // Before: only approved or active pseudonymised bids were listed, and only for a pseudonymised
    // request — two bids in review at once were each approved with an empty list, an identifiable
    // request granted pseudonymised showed nothing, and an active identifiable bid was never listed.
    const org = (await t.factory.organisation({ kind: 'academic' })).id;
    researcher = await t.as('researcher', { organisationId: org });
    const identifiable = await active({ title: 'Identifiable study', requestedTier: 'identifiable' });
    const p1 = await inReview({ title: 'Study P1' });
    const p2 = await inReview({ title: 'Study P2' });
    const p3 = await inReview({ title: 'Study P3', requestedTier: 'identifiable' });
    const listed = async (id: string) =>
      ((await t.http.get(`/api/bids/${id}`).set(panel[0].auth).expect(200)).body.linkageRisk
        ?.otherPseudonymisedBids ?? null) as { title: string; state: string; tier: string }[] | null;
    expect((await listed(p1))!.map((o) => [o.title, o.state, o.tier])).toEqual([
      ['Identifiable study', 'active', 'identifiable'],
      ['Study P2', 'in_review', 'pseudonymised'],
      ['Study P3', 'in_review', 'identifiable'],
    ]);
    expect((await listed(p2))!.map((o) => o.title)).toEqual(['Identifiable study', 'Study P1', 'Study P3']);
    expect((await listed(p3))!.map((o) => o.title)).toEqual(['Identifiable study', 'Study P1', 'Study P2']);
    // An ended bid (revoked: its files may have been downloaded) stays listed.
    await t.http
      .post(`/api/bids/${identifiable}/revoke`)
      .set((await t.as('admin')).auth)
      .send({ reason: 'breach of the agreement' })
      .expect(200);
    expect((await listed(p1))!.map((o) => [o.title, o.state])).toContainEqual([
      'Identifiable study',
      'revoked',
    ]);
  });

  it('anonymised bids of event histories (person token, a row per event) are listed and conditioned like pseudonymised ones', async () => {
    // An attacker's probe (2026-12-07): 36.5 % of an anonymised GP file's persons were unique on their
    // class and multiset of items, so two such bids of one organisation join one-to-one; kᵐ covers an
    // attacker who knows m events, not one holding a whole history. Before, an anonymised bid showed
    // no linkage risk and its agreement no condition.
    const org = (await t.factory.organisation({ kind: 'academic' })).id;
    researcher = await t.as('researcher', { organisationId: org });
    const anon = (fields: string[]) => ({
      requestedTier: 'anonymised',
      datasets: [{ dataset: 'gp', fields }],
    });
    const histories = await active({
      title: 'Histories A',
      ...anon(['nhs_number', 'sex', 'code', 'event_date']),
    });
    // No person column, or one row per person: nothing to follow, not listed and no condition.
    const shuffled = await active({ title: 'Rows only', ...anon(['sex', 'code', 'event_date']) });
    const perPerson = await active({
      title: 'Persons only',
      ...anon(['nhs_number', 'sex', 'date_of_birth']),
    });
    await active({ title: 'Pseudonymised P' });
    const b = await inReview({ title: 'Histories B', ...anon(['nhs_number', 'code', 'event_date']) });

    const risk = (await t.http.get(`/api/bids/${b}`).set(panel[0].auth).expect(200)).body.linkageRisk;
    expect(risk).toMatchObject({ linkingFields: [], histories: true });
    expect(
      risk.otherPseudonymisedBids.map((o: { title: string; tier: string; histories: boolean }) => [
        o.title,
        o.tier,
        o.histories,
      ]),
    ).toEqual([
      ['Histories A', 'anonymised', true],
      ['Pseudonymised P', 'pseudonymised', true],
    ]);
    // A pseudonymised bid under review lists the anonymised bid of histories too.
    const p2 = await inReview({ title: 'Pseudonymised Q' });
    const listed = (await t.http.get(`/api/bids/${p2}`).set(officer.auth).expect(200)).body.linkageRisk;
    expect(listed.otherPseudonymisedBids.map((o: { title: string }) => o.title)).toEqual([
      'Histories A',
      'Pseudonymised P',
      'Histories B',
    ]);
    for (const id of [shuffled, perPerson])
      expect((await t.http.get(`/api/bids/${id}`).set(panel[0].auth).expect(200)).body).not.toHaveProperty(
        'linkageRisk',
      );
    // The agreements: the bid of histories carries the no-linkage condition, the others do not.
    const conditions = async (id: string) =>
      (await t.http.get(`/api/bids/${id}`).set(researcher.auth).expect(200)).body.agreement.conditions;
    expect(await conditions(histories)).toEqual([expect.stringMatching(/^No linkage/)]);
    expect(await conditions(shuffled)).toEqual([]);
    expect(await conditions(perPerson)).toEqual([]);
    // The panel's page says so.
    const html = (
      await t.http
        .get(`/panel/${b}`)
        .set('cookie', await portalSession(panel[0].user.email))
        .expect(200)
    ).text;
    expect(html).toContain('follow persons through their events');
    expect(html).toContain('Histories A');
  });

  it('says where two bids handle Type 2 objections differently (s251 beside statutory lists the objectors)', async () => {
    // An attacker's probe (2026-12-07): a statutory release of a population minus an s251 release of
    // the same one is its Type 2 objectors (SPEC §5 makes them differ); the guards compare only
    // releases that treat objections alike, so reviewers were never told.
    const org = (await t.factory.organisation({ kind: 'academic' })).id;
    researcher = await t.as('researcher', { organisationId: org });
    await active({ title: 'Under s251' });
    await active({
      title: 'Under statute',
      legalBasis: 'statutory',
      legalBasisReference: 'Health and Social Care Act 2012 s261',
    });
    const b = await inReview({ title: 'Another s251' });
    const listed = (await t.http.get(`/api/bids/${b}`).set(panel[0].auth).expect(200)).body.linkageRisk
      .otherPseudonymisedBids as { title: string; objectionsDiffer: boolean }[];
    expect(listed.map((o) => [o.title, o.objectionsDiffer])).toEqual([
      ['Under s251', false],
      ['Under statute', true],
    ]);
    const html = (
      await t.http
        .get(`/panel/${b}`)
        .set('cookie', await portalSession(panel[0].user.email))
        .expect(200)
    ).text;
    expect(html).toContain('the files show who objected');
  });

  it('an aggregate bid is shown the organisation’s record-level bids, whose exact counts undo its rounding', async () => {
    // An attacker's probe (2026-12-07): with a pseudonymised file of nearly the same population, the
    // organisation counts persons exactly and reads a target's presence from a rounded cell.
    const org = (await t.factory.organisation({ kind: 'academic' })).id;
    researcher = await t.as('researcher', { organisationId: org });
    await active({ title: 'Record level' });
    await active({
      title: 'Shuffled rows',
      requestedTier: 'anonymised',
      datasets: [{ dataset: 'gp', fields: ['sex', 'code', 'event_date'] }],
    });
    const agg = await inReview({
      title: 'Counts by sex',
      requestedTier: 'aggregate',
      legalBasis: 'none',
      legalBasisReference: undefined,
      datasets: [{ dataset: 'gp', fields: ['code'] }],
      aggregation: { dimensions: ['sex'] },
    });
    const risk = (await t.http.get(`/api/bids/${agg}`).set(panel[0].auth).expect(200)).body.linkageRisk;
    expect(risk).toMatchObject({ linkingFields: [], histories: false });
    expect(
      risk.otherPseudonymisedBids.map((o: { title: string; tier: string; countsDisclose: boolean }) => [
        o.title,
        o.tier,
        o.countsDisclose,
      ]),
    ).toEqual([
      ['Record level', 'pseudonymised', true],
      ['Shuffled rows', 'anonymised', true],
    ]);
    const html = (
      await t.http
        .get(`/panel/${agg}`)
        .set('cookie', await portalSession(panel[0].user.email))
        .expect(200)
    ).text;
    expect(html).toContain('exact counts from the files undo the rounding');
  });

  // Review 15 (F5): an amendment can turn an anonymised bid of shuffled rows into one of event
  // histories; while it is in review, the organisation's other bids' reviewers were not shown it.
  it('F5: a pseudonymised bid under review lists the anonymised bid whose amendment in review adds histories', async () => {
    const org = (await t.factory.organisation({ kind: 'academic' })).id;
    researcher = await t.as('researcher', { organisationId: org });
    const rows = await active({
      title: 'Rows only',
      requestedTier: 'anonymised',
      datasets: [{ dataset: 'gp', fields: ['sex', 'code', 'event_date'] }],
    });
    // The amendment: the same rows, now with the person column (person_token): event histories.
    const amended = await t.http
      .post(`/api/bids/${rows}/amendments`)
      .set(researcher.auth)
      .send({
        reason: 'We need to follow each patient through their events',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
      });
    expect(amended.status, JSON.stringify(amended.body)).toBe(201);
    const v = amended.body.version as number;
    await t.http.post(`/api/bids/${rows}/amendments/${v}/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${rows}/amendments/${v}/screen`)
      .set(officer.auth)
      .send({ outcome: 'accept', remarks: 'to the panel' })
      .expect(200);

    const p = await inReview({ title: 'Pseudonymised P' });
    const risk = (await t.http.get(`/api/bids/${p}`).set(panel[0].auth).expect(200)).body.linkageRisk;
    expect(risk.otherPseudonymisedBids.map((o: { title: string }) => o.title)).toContain('Rows only');
  });

  // Review 16 (L1): a pending amendment of a bid already linkable was never looked at.
  it('L1: the linking fields of a pending amendment of a pseudonymised bid are shown', async () => {
    const org = (await t.factory.organisation({ kind: 'academic' })).id;
    researcher = await t.as('researcher', { organisationId: org });
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
