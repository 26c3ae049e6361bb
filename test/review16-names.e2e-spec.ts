import { createTestApp, TEST_PASSWORD, TestApp } from '@custodian/testing';

/**
 * Review 16 of the names change (validation.ts normaliseName, isPlainText): names are validated as
 * sent and stored normalised (NFKC, default-ignorables removed, white space collapsed). What the
 * normalisation makes of a name is never checked again.
 */
describe('review-16: organisation and display names', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.as('admin')).auth;
  });
  afterAll(() => t?.close());

  const VISIBLE = /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cf}\p{M}\p{Cn}\p{Co}\p{Cs}\u2800]/gu;
  const visible = (s: string) => s.match(VISIBLE)?.length ?? 0;

  // N1: spacing accents (´ U+00B4, ¨ U+00A8, ͺ U+037A, halfwidth ﾞ U+FF9E) count as visible, but
  // NFKC turns each into a space and a combining mark: stored, the name shows nothing at all
  // (no visible character), on the public register and in every list of organisations.
  it.each(['´´', '¨¨', 'ͺͺ', 'ﾞﾞ'])(
    'N1: an organisation named %j is refused or stored with a visible name',
    async (name) => {
      const res = await t.http.post('/api/organisations').set(admin).send({ name, kind: 'charity' });
      if (res.status === 201) expect(visible(res.body.name)).toBeGreaterThanOrEqual(2);
      else expect(res.status).toBe(400);
    },
  );

  it('N1: a user whose display name is "´" is refused or stored with a visible name', async () => {
    const res = await t.http
      .post('/api/users')
      .set(admin)
      .send({
        email: `n1-${Date.now()}@example.org`,
        password: TEST_PASSWORD,
        displayName: '´',
        roles: ['auditor'],
      });
    if (res.status === 201) expect(visible(res.body.displayName)).toBeGreaterThanOrEqual(1);
    else expect(res.status).toBe(400);
  });

  // N2: MaxLength(200) is checked before NFKC, which expands a character up to 18 (U+FDFA): the
  // stored name overflows varchar(200) and the request is a 500, not a 400.
  it('N2: an organisation name that NFKC expands past 200 characters is a 400, not a 500', async () => {
    const name = '\uFDFA'.repeat(12); // 12 characters sent, 227 stored
    const res = await t.http.post('/api/organisations').set(admin).send({ name, kind: 'charity' });
    expect(res.status).toBeLessThan(500);
  });

  it('N2: a display name that NFKC expands past 200 characters is a 400, not a 500', async () => {
    const res = await t.http
      .post('/api/users')
      .set(admin)
      .send({
        email: `n2-${Date.now()}@example.org`,
        password: TEST_PASSWORD,
        displayName: '\uFDFA'.repeat(12),
        roles: ['auditor'],
      });
    expect(res.status).toBeLessThan(500);
  });

  // N3: removing every default-ignorable character removes ZERO WIDTH NON-JOINER and JOINER, which
  // Persian and Sinhala (and Malayalam, Kurdish…) spell with: the name stored is another spelling
  // (نیک‌نام "Nik-nam" is written with its letters joined; ශ්‍රී loses its conjunct).
  it.each(['نیک\u200Cنام', 'ශ්\u200Dරී ලංකා'])('N3: the name %j is stored as written', async (name) => {
    const res = await t.http
      .post('/api/organisations')
      .set(admin)
      .send({ name: `${name} Trust`, kind: 'charity' });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe(`${name} Trust`);
  });

  // Sound: real names of other languages pass.
  it.each([
    "O'Brien & Sons",
    'Llŷr ap Gruffudd Cyf',
    'Ó Briain Teo',
    '山田 太郎',
    'عبد الله',
    'Smith-Jones Ltd',
    'Ní Dhónaill',
  ])('real name %j is accepted as written', async (name) => {
    const res = await t.http.post('/api/organisations').set(admin).send({ name, kind: 'charity' });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe(name);
  });
  // N4: names that read alike are still two organisations when they differ by the apostrophe or
  // hyphen a keyboard or a word processor typed (' and ’ U+2019, - and ‐ U+2010): NFKC unifies
  // neither, so the public register lists "O'Brien Trust" and "O’Brien Trust" as two organisations.
  it.each([
    ["O'Brien Research Trust", 'O\u2019Brien Research Trust'],
    ['Smith-Jones Foundation', 'Smith\u2010Jones Foundation'],
  ])('N4: %j and %j are one organisation (409)', async (first, second) => {
    await t.http.post('/api/organisations').set(admin).send({ name: first, kind: 'charity' }).expect(201);
    const res = await t.http.post('/api/organisations').set(admin).send({ name: second, kind: 'charity' });
    expect(res.status).toBe(409);
  });
});
