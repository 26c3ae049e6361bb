import { createTestApp, TestApp } from '@custodian/testing';
import { HES_HEADER, hes, SOCIAL_HEADER, social, toCsv } from './linkage-fixtures';
import { ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Issue #26, the social-care movers: a row without an NHS number recorded at an address the patient
 * has left offers sex + date of birth + a postcode the centre no longer holds for them. The centre
 * did hold it — the patient's earlier extract (or earlier practice) gave it — but the intake
 * overwrote it. Previous addresses are kept now (`patient_address_history`, written by a trigger on
 * `patients`), and steps 6 and 7 count a person known at the row's postcode then as a candidate, as
 * PDS tracing matches previous addresses. Everything else stays as it was: two people with the key
 * (one living there now, one named on another row, one who lived there) → nobody's; a Type 1
 * objector's previous addresses are kept as digests, so their old address is never given to a twin.
 */
describe('linkage: previous addresses (issue #26)', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let dm: { Authorization: string };
  const n = {
    mover: nhsNumber(842_001),
    swapped: nhsNumber(842_002),
    practiceMover: nhsNumber(842_003),
    ambiguousMover: nhsNumber(842_004),
    nowThere: nhsNumber(842_005),
    namedMover: nhsNumber(842_006),
    outsider: nhsNumber(842_007),
    objector: nhsNumber(842_008),
    twin: nhsNumber(842_009),
  };
  const person = (
    id: string,
    nhs: string,
    birthDate: string,
    gender: string,
    postcode: string,
    ods = 'A81001',
  ) => patient(id, nhs, { birthDate, gender, address: [{ postalCode: postcode }] }, ods);

  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'A81002');
    dm = (await t.as('data_manager')).auth;
    // The first extracts: everyone at their old address.
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        person('m', n.mover, '1952-04-17', 'female', 'LS6 1AB'),
        person('s', n.swapped, '1949-03-09', 'male', 'LS6 2CD'),
        person('pm', n.practiceMover, '1966-11-02', 'male', 'LS7 4EF'),
        person('am', n.ambiguousMover, '1960-02-11', 'female', 'LS7 3AB'),
        person('nm', n.namedMover, '1971-08-21', 'male', 'LS8 1AA'),
        person('o', n.objector, '1944-06-23', 'female', 'LS9 7AB'),
      ]),
    ).expect(201);
    // A year later they have moved: the same practice's extract, or (pm) another practice's.
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        person('m', n.mover, '1952-04-17', 'female', 'LS16 5QE'),
        person('s', n.swapped, '1949-03-09', 'male', 'LS17 8GH'),
        person('am', n.ambiguousMover, '1960-02-11', 'female', 'LS17 6JK'),
        person('nm', n.namedMover, '1971-08-21', 'male', 'LS18 2LM'),
        person('o', n.objector, '1944-06-23', 'female', 'LS25 1NP'),
      ]),
    ).expect(201);
    await upload(
      t,
      b,
      'A81002',
      ndjson([
        person('pm', n.practiceMover, '1966-11-02', 'male', 'LS12 9QR', 'A81002'),
        // Someone who lives at am's old address now, with am's sex and date of birth.
        person('nt', n.nowThere, '1960-02-11', 'female', 'LS7 3AB', 'A81002'),
        // The objector's twin lives at the objector's old address.
        person('tw', n.twin, '1944-06-23', 'female', 'LS9 7AB', 'A81002'),
      ]),
    ).expect(201);
  });
  afterAll(() => t?.close());

  const load = async (path: 'hes' | 'social-care', csv: string) =>
    (await t.http.post(`/api/sources/${path}`).set(dm).set('Content-Type', 'text/csv').send(csv).expect(201))
      .body as { linkedByStep: Record<string, number>; unlinked: number };
  const scLink = async (personId: string) =>
    (
      await t.sql.query(
        `SELECT p.nhs_number AS nhs, s.linkage_step AS step
           FROM social_care_records s LEFT JOIN patients p ON p.id = s.patient_id WHERE s.person_id = $1`,
        [personId],
      )
    ).rows[0] as { nhs: string | null; step: number | null };
  const hesLink = async (epikey: string) =>
    (
      await t.sql.query(
        `SELECT p.nhs_number AS nhs, h.linkage_step AS step
           FROM hes_episodes h LEFT JOIN patients p ON p.id = h.patient_id WHERE h.epikey = $1`,
        [epikey],
      )
    ).rows[0] as { nhs: string | null; step: number | null };
  const nobody = { nhs: null, step: null };

  it('a row without an NHS number at the address the patient left links to them (step 6; step 7 with day and month swapped)', async () => {
    await load(
      'social-care',
      toCsv(SOCIAL_HEADER, [
        social('E08000035', 'MOVER1', null, '1952-04-17', 'F', 'LS6 1AB'),
        // Day and month swapped (9 March → 3 September), at the old address.
        social('E08000035', 'SWAP1', null, '1949-09-03', 'M', 'LS6 2CD'),
        // Registered at another practice since: the old practice's address.
        social('E08000035', 'PMOVE1', null, '1966-11-02', 'M', 'LS7 4EF'),
      ]),
    );
    expect(await scLink('MOVER1')).toEqual({ nhs: n.mover, step: 6 });
    expect(await scLink('SWAP1')).toEqual({ nhs: n.swapped, step: 7 });
    expect(await scLink('PMOVE1')).toEqual({ nhs: n.practiceMover, step: 6 });
    // HES the same.
    await load('hes', toCsv(HES_HEADER, [hes('HMOVE1', null, '1952-04-17', '2', 'LS6 1AB')]));
    expect(await hesLink('HMOVE1')).toEqual({ nhs: n.mover, step: 6 });
  });

  it('two people with the key — one who lived there, one who lives there now — and the row is nobody’s', async () => {
    await load(
      'social-care',
      toCsv(SOCIAL_HEADER, [social('E08000035', 'AMB1', null, '1960-02-11', 'F', 'LS7 3AB')]),
    );
    expect(await scLink('AMB1')).toEqual(nobody);
  });

  it('one who lived there and one an NHS number on another row names there: nobody’s', async () => {
    await load(
      'social-care',
      toCsv(SOCIAL_HEADER, [
        // An outsider (held by no practice) named with the mover's sex, DOB and old postcode.
        social('E08000035', 'OUT1', n.outsider, '1971-08-21', 'M', 'LS8 1AA'),
        social('E08000035', 'NAMED1', null, '1971-08-21', 'M', 'LS8 1AA'),
      ]),
    );
    expect(await scLink('NAMED1')).toEqual(nobody);
  });

  it("a Type 1 objector's previous address stays a candidate: the twin living there now does not get the row", async () => {
    const res = await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: n.objector, type: 'type1', action: 'register' })
      .expect(201);
    expect(res.body.active).toBe(true);
    const held = await t.sql.query(`SELECT count(*)::int AS n FROM patients WHERE nhs_number = $1`, [
      n.objector,
    ]);
    expect(held.rows[0].n).toBe(0);
    // Nothing of the objector is kept in clear: their previous address went with their data.
    const kept = await t.sql.query(
      `SELECT count(*)::int AS n FROM patient_address_history h
        WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = h.patient_id)`,
    );
    expect(kept.rows[0].n).toBe(0);
    await load(
      'social-care',
      toCsv(SOCIAL_HEADER, [social('E08000035', 'OBJ1', null, '1944-06-23', 'F', 'LS9 7AB')]),
    );
    expect(await scLink('OBJ1')).toEqual(nobody);
  });
});
