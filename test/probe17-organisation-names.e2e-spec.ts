import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 17, finding 1: an organisation's name is published on the public register (SPEC §6: "one
 * line per release — date, organisation and its kind (commercial flagged)…"), and since
 * 2026-12-07 a name is unique "in any case" because two organisations differing only in case read
 * as one there (docs/SECURITY.md #158). A name that differs only by characters a reader cannot see
 * — a no-break space for a space, a zero-width space, a doubled space, the decomposed form of an
 * accented letter — still makes a second organisation that reads as the first, and a name may
 * carry control and text-direction characters, which bid titles refuse for the same reason
 * ("which make a register line read otherwise than it is", libs/core/src/validation.ts).
 */
describe('probe 17: organisation names that read as another organisation', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<TestApp['as']>>;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.as('admin');
  });
  afterAll(() => t?.close());

  const create = (name: string, kind = 'commercial') =>
    t.http.post('/api/organisations').set(admin.auth).send({ name, kind });

  it('a name that differs from an existing one only by invisible or equivalent characters is the same organisation (409)', async () => {
    expect((await create('Probe17 University of Leeds', 'academic')).status).toBe(201);
    const lookalikes = {
      'no-break space': 'Probe17 University\u00a0of Leeds',
      'zero-width space at the end': 'Probe17 University of Leeds\u200b',
      'zero-width space inside': 'Probe17 Univer\u200bsity of Leeds',
      'doubled space': 'Probe17 University  of Leeds',
      'word joiner': 'Probe17 University of\u2060 Leeds',
    };
    const created: string[] = [];
    for (const [what, name] of Object.entries(lookalikes)) {
      const res = await create(name);
      if (res.status !== 409) created.push(`${what}: ${res.status} ${JSON.stringify(res.body.name)}`);
    }
    // NFC and NFD spellings of one name are one name.
    expect((await create('Probe17 Universit\u00e9 de Leeds', 'academic')).status).toBe(201);
    const nfd = await create('Probe17 Universite\u0301 de Leeds');
    if (nfd.status !== 409) created.push(`decomposed é: ${nfd.status} ${JSON.stringify(nfd.body.name)}`);
    expect(created).toEqual([]);
  });

  it('a name with control or text-direction characters is refused (400), as a bid title is', async () => {
    const accepted: string[] = [];
    for (const name of [
      'Probe17 Evil \u202eCorp', // right-to-left override
      'Probe17 Tab\tCorp',
      'Probe17 Line\nBreak Ltd',
      'Probe17 Bell\u0007 Ltd',
      'Probe17 Escape\u001b[31m Ltd',
      '\u200b\u200b\u200b', // nothing visible
    ]) {
      const res = await create(name);
      if (res.status !== 400) accepted.push(`${JSON.stringify(name)}: ${res.status}`);
      else expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    }
    expect(accepted).toEqual([]);
  });

  it("a user's display name refuses control and text-direction characters and blank names, as the bid title does", async () => {
    const user = await t.factory.user({ roles: ['auditor'] });
    const accepted: string[] = [];
    for (const displayName of ['Ada \u202eAdmin', 'Ada\nAdmin\u0007', '   ', '\u200b\u200b']) {
      const res = await t.http.patch(`/api/users/${user.id}`).set(admin.auth).send({ displayName });
      if (res.status !== 400) accepted.push(`${JSON.stringify(displayName)}: ${res.status}`);
    }
    expect(accepted).toEqual([]);
  });
});
