import { createTestApp, TestApp } from '@custodian/testing';
import { expectRefusedNaming } from './support/validation';

type As = Awaited<ReturnType<TestApp['as']>>;

const BODY = {
  title: 'Statins and stroke',
  purpose: 'Study of statins and stroke',
  publicBenefit: 'Fewer strokes in Leeds',
  legalBasis: 's251',
  legalBasisReference: 'CAG 7-07(a)/2013',
  requestedTier: 'pseudonymised',
  datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'code', 'event_date'] }],
  durationMonths: 12,
};

/**
 * Probe 36: a bid's legal basis reference (the CAG reference of an s251 approval, the civil emergency
 * notice) is printed on the public register and signed into its log, like the title, but it was the
 * one such text without the plain-text rule (SECURITY #124, #177, #178): a text-direction override
 * ("CAG \u202e7-07"), a line break, a bell or a reference of three zero-width spaces (which the
 * required-reference check read as given) were stored.
 */
describe('a legal basis reference is plain text a person reads', () => {
  let t: TestApp;
  let researcher: As;

  beforeAll(async () => {
    t = await createTestApp();
    researcher = await t.as('researcher');
  });
  afterAll(() => t?.close());

  const BAD = [
    'CAG \u202e7-07(a)',
    'CAG\r\n=1+1',
    '\u200b\u200b\u200b',
    'CAG\u0007 7-07',
    'CAG \u2066x\u2069 7',
  ];

  it('refuses control, text-direction and invisible-only references at create and edit, storing nothing', async () => {
    const count = async () =>
      (
        await t.sql.query('SELECT count(*)::int AS n FROM bids WHERE organisation_id = $1', [
          researcher.user.organisationId,
        ])
      ).rows[0].n as number;
    const before = await count();
    for (const ref of BAD)
      expectRefusedNaming(
        await t.http
          .post('/api/bids')
          .set(researcher.auth)
          .send({ ...BODY, legalBasisReference: ref }),
        'legalBasisReference',
      );
    expect(await count()).toBe(before);
    const id = (await t.http.post('/api/bids').set(researcher.auth).send(BODY).expect(201)).body.id as string;
    for (const ref of BAD)
      expectRefusedNaming(
        await t.http.patch(`/api/bids/${id}`).set(researcher.auth).send({ legalBasisReference: ref }),
        'legalBasisReference',
      );
    const { rows } = await t.sql.query('SELECT legal_basis_reference FROM bids WHERE id = $1', [id]);
    expect(rows[0].legal_basis_reference).toBe('CAG 7-07(a)/2013');
    // Real references keep their punctuation, and null still clears one where none is needed.
    await t.http
      .patch(`/api/bids/${id}`)
      .set(researcher.auth)
      .send({ legalBasisReference: 'ECC 5-04(b)/2020 — notice n° 7' })
      .expect(200);
    await t.http
      .patch(`/api/bids/${id}`)
      .set(researcher.auth)
      .send({ legalBasis: 'statutory', legalBasisReference: null })
      .expect(200);
  });
});
