import { createTestApp, TestApp } from '@custodian/testing';
import { SOCIAL_HEADER, social, toCsv } from './linkage-fixtures';
import { ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Issue #26, social-care recall: a local authority identifies a client by `LA_CODE + PERSON_ID`
 * (SPEC §3's social-care format), and records the NHS number on some of the client's rows and not on
 * others, or at an address the client has since left. A row without an NHS number takes the number
 * of the same client's other rows — only when every one of them that carries a number carries the
 * same one, and the client's rows do not contradict each other on sex or date of birth — before the
 * eight steps, so it links by the ordinary NHS-number steps; the row records that its number came
 * from the client (`nhs_number_from_client`). A client with two numbers, or whose rows disagree on
 * DOB, gets nothing. A client whose number is a Type 1 objector's, or an outsider's, is that person:
 * its rows are nobody's, never a demographic look-alike's. A client with no NHS number on any row:
 * a row left unlinked takes the patient the client's other rows link to at step 6 (`link_from_client`)
 * when its own key finds nobody else; and a client one of whose rows has a Type 1 objector's key is
 * nobody's on every row.
 */
describe('linkage: a social-care client’s NHS number (issue #26)', () => {
  let t: TestApp;
  let dm: { Authorization: string };
  let gp: { Authorization: string };
  const n = {
    mover: nhsNumber(926_001),
    later: nhsNumber(926_002),
    earlier: nhsNumber(926_003),
    conflictA: nhsNumber(926_004),
    conflictB: nhsNumber(926_005),
    dob: nhsNumber(926_006),
    objector: nhsNumber(926_007),
    lookAlike: nhsNumber(926_008),
    outsider: nhsNumber(926_009),
    lookAlike2: nhsNumber(926_010),
    clientLink: nhsNumber(926_011),
    clientCand: nhsNumber(926_012),
    outsider2: nhsNumber(926_013),
  };
  const LA = 'E08000035';
  const person = (id: string, nhs: string, birthDate: string, gender: string, postcode: string) =>
    patient(id, nhs, { birthDate, gender, address: [{ postalCode: postcode }] });

  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    gp = await practiceReady(t, admin, 'A81001');
    dm = (await t.as('data_manager')).auth;
    await upload(
      t,
      gp,
      'A81001',
      ndjson([
        person('m', n.mover, '1947-05-14', 'female', 'LS6 1AB'),
        person('l', n.later, '1950-10-23', 'male', 'LS6 2AB'),
        person('e', n.earlier, '1939-07-30', 'female', 'LS6 3AB'),
        person('ca', n.conflictA, '1955-03-15', 'male', 'LS6 4AB'),
        person('cb', n.conflictB, '1955-03-15', 'male', 'LS6 5AB'),
        person('d', n.dob, '1961-09-18', 'female', 'LS6 6AB'),
        person('o', n.objector, '1944-06-23', 'female', 'LS9 7AB'),
        // Lives where the objector's client row (without an NHS number) says, same sex and DOB.
        person('la', n.lookAlike, '1944-06-23', 'female', 'LS14 1XY'),
        // Lives where the outsider's client row says, same sex and DOB.
        person('lb', n.lookAlike2, '1958-12-05', 'male', 'LS15 2XY'),
        person('cl', n.clientLink, '1972-02-14', 'female', 'LS6 7AB'),
        person('cc', n.clientCand, '1963-08-09', 'male', 'LS6 8AB'),
      ]),
    ).expect(201);
  });
  afterAll(() => t?.close());

  const load = async (csv: string) =>
    (
      await t.http
        .post('/api/sources/social-care')
        .set(dm)
        .set('Content-Type', 'text/csv')
        .send(csv)
        .expect(201)
    ).body as { linkedByStep: Record<string, number>; unlinked: number; rows: number };
  /** Each row of a client, by start date: whose, at which step, and what it took from its client (its NHS number, its link). */
  const client = async (personId: string) =>
    (
      await t.sql.query(
        `SELECT to_char(s.start_date, 'YYYY-MM-DD') AS start, p.nhs_number AS nhs, s.linkage_step AS step,
                CASE WHEN s.nhs_number_from_client THEN 'nhs_number' WHEN s.link_from_client THEN 'link' END AS via
           FROM social_care_records s LEFT JOIN patients p ON p.id = s.patient_id
          WHERE s.la_code = $1 AND s.person_id = $2 ORDER BY s.start_date`,
        [LA, personId],
      )
    ).rows as { start: string; nhs: string | null; step: number | null; via: 'nhs_number' | 'link' | null }[];
  const nobody = { nhs: null, step: null, via: null };

  it('a client of three rows — one with the NHS number at a new address, two blank (another address, none) — links all three', async () => {
    const body = await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-MOVER', n.mover, '1947-05-14', 'F', 'LS16 5QE', { start: '2019-01-10' }),
        social(LA, 'CL-MOVER', null, '1947-05-14', 'F', 'LS17 8GH', { start: '2020-02-11' }),
        social(LA, 'CL-MOVER', null, '1947-05-14', 'F', null, { start: '2021-03-12' }),
      ]),
    );
    expect(await client('CL-MOVER')).toEqual([
      { start: '2019-01-10', nhs: n.mover, step: 2, via: null },
      { start: '2020-02-11', nhs: n.mover, step: 2, via: 'nhs_number' },
      { start: '2021-03-12', nhs: n.mover, step: 2, via: 'nhs_number' },
    ]);
    expect(body.linkedByStep['2']).toBe(3);
    expect(body.unlinked).toBe(0);
    // The same file again: the same report, nothing changes.
    const again = await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-MOVER', n.mover, '1947-05-14', 'F', 'LS16 5QE', { start: '2019-01-10' }),
        social(LA, 'CL-MOVER', null, '1947-05-14', 'F', 'LS17 8GH', { start: '2020-02-11' }),
        social(LA, 'CL-MOVER', null, '1947-05-14', 'F', null, { start: '2021-03-12' }),
      ]),
    );
    expect(again.linkedByStep).toEqual(body.linkedByStep);
    expect(again.unlinked).toBe(0);
  });

  it('the client’s rows in two files, either order: the blank row links once the number has arrived', async () => {
    // Blank first, the number later: the later load's review links the earlier row.
    await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-LATER', null, '1950-10-23', 'M', 'LS18 1AA', { start: '2018-04-01' }),
      ]),
    );
    expect(await client('CL-LATER')).toEqual([{ start: '2018-04-01', ...nobody }]);
    await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-LATER', n.later, '1950-10-23', 'M', 'LS19 2BB', { start: '2022-05-01' }),
      ]),
    );
    expect(await client('CL-LATER')).toEqual([
      { start: '2018-04-01', nhs: n.later, step: 2, via: 'nhs_number' },
      { start: '2022-05-01', nhs: n.later, step: 2, via: null },
    ]);
    // The number first, the blank row later: linked by its own load.
    await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-EARLIER', n.earlier, '1939-07-30', 'F', 'LS6 3AB', { start: '2017-01-01' }),
      ]),
    );
    const body = await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-EARLIER', null, '1939-07-30', 'F', 'LS20 3CC', { start: '2023-01-01' }),
      ]),
    );
    expect(body.linkedByStep['2']).toBe(1);
    expect(await client('CL-EARLIER')).toEqual([
      { start: '2017-01-01', nhs: n.earlier, step: 1, via: null },
      { start: '2023-01-01', nhs: n.earlier, step: 2, via: 'nhs_number' },
    ]);
    // Another local authority's client with the same PERSON_ID is another client.
    await load(
      toCsv(SOCIAL_HEADER, [social('E08000036', 'CL-EARLIER', null, '1939-07-30', 'F', 'LS21 4DD')]),
    );
    const other = await t.sql.query(
      `SELECT patient_id, nhs_number_from_client OR link_from_client AS "fromClient" FROM social_care_records
        WHERE la_code = 'E08000036' AND person_id = 'CL-EARLIER'`,
    );
    expect(other.rows).toEqual([{ patient_id: null, fromClient: false }]);
  });

  it('a client with two NHS numbers gets nothing; a client whose rows disagree on DOB gets nothing', async () => {
    await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-CONFLICT', n.conflictA, '1955-03-15', 'M', 'LS6 4AB', { start: '2016-01-01' }),
        social(LA, 'CL-CONFLICT', n.conflictB, '1955-03-15', 'M', 'LS6 5AB', { start: '2017-01-01' }),
        social(LA, 'CL-CONFLICT', null, '1955-03-15', 'M', 'LS22 5EE', { start: '2018-01-01' }),
        social(LA, 'CL-DOB', n.dob, '1961-09-18', 'F', 'LS6 6AB', { start: '2016-01-01' }),
        social(LA, 'CL-DOB', null, '1961-09-19', 'F', 'LS23 6FF', { start: '2018-01-01' }),
      ]),
    );
    expect((await client('CL-CONFLICT'))[2]).toEqual({ start: '2018-01-01', ...nobody });
    expect((await client('CL-DOB'))[1]).toEqual({ start: '2018-01-01', ...nobody });
    // A later row gives the mover's client a second number:
    await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-MOVER', n.conflictA, '1947-05-14', 'F', 'LS16 5QE', { start: '2024-01-10' }),
      ]),
    );
    // The mover's client now carries two numbers: its blank rows lose the link taken from it.
    const mover = await client('CL-MOVER');
    expect(mover.filter((r) => r.via)).toEqual([]);
    expect(mover[1]).toEqual({ start: '2020-02-11', ...nobody });
  });

  it('a client whose number is a Type 1 objector’s, or an outsider’s, is that person: never linked to a look-alike', async () => {
    const res = await t.http
      .post('/api/objections')
      .set(gp)
      .send({ nhsNumber: n.objector, type: 'type1', action: 'register' })
      .expect(201);
    expect(res.body.active).toBe(true);
    await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-OBJ', n.objector, '1944-06-23', 'F', 'LS9 7AB', { start: '2016-01-01' }),
        // Without its number, at the look-alike's address: step 6 would give it to the look-alike.
        social(LA, 'CL-OBJ', null, '1944-06-23', 'F', 'LS14 1XY', { start: '2018-01-01' }),
        social(LA, 'CL-OUT', n.outsider, '1958-12-05', 'M', 'LS24 7GG', { start: '2016-01-01' }),
        social(LA, 'CL-OUT', null, '1958-12-05', 'M', 'LS15 2XY', { start: '2018-01-01' }),
      ]),
    );
    expect(await client('CL-OBJ')).toEqual([
      { start: '2016-01-01', ...nobody },
      { start: '2018-01-01', ...nobody },
    ]);
    expect(await client('CL-OUT')).toEqual([
      { start: '2016-01-01', ...nobody },
      { start: '2018-01-01', ...nobody },
    ]);
  });

  it('a client without any NHS number: a row elsewhere takes the patient its other rows link to, unless its own key finds someone else', async () => {
    await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-LINK', null, '1972-02-14', 'F', 'LS6 7AB', { start: '2015-01-01' }),
        social(LA, 'CL-LINK', null, '1972-02-14', 'F', 'LS25 9ZZ', { start: '2019-01-01' }),
        social(LA, 'CL-LINK', null, '1972-02-14', 'F', null, { start: '2020-01-01' }),
        social(LA, 'CL-CAND', null, '1963-08-09', 'M', 'LS6 8AB', { start: '2015-01-01' }),
        social(LA, 'CL-CAND', null, '1963-08-09', 'M', 'LS27 3AA', { start: '2019-01-01' }),
        // Someone not held, named with CL-CAND's sex and DOB at its second address.
        social(LA, 'CL-OTHER', n.outsider2, '1963-08-09', 'M', 'LS27 3AA', { start: '2019-01-01' }),
      ]),
    );
    expect(await client('CL-LINK')).toEqual([
      { start: '2015-01-01', nhs: n.clientLink, step: 6, via: null },
      { start: '2019-01-01', nhs: n.clientLink, step: 6, via: 'link' },
      { start: '2020-01-01', nhs: n.clientLink, step: 6, via: 'link' },
    ]);
    expect(await client('CL-CAND')).toEqual([
      { start: '2015-01-01', nhs: n.clientCand, step: 6, via: null },
      { start: '2019-01-01', ...nobody },
    ]);
  });

  it('a client without an NHS number one of whose rows has a Type 1 objector’s key is nobody’s on every row', async () => {
    // The objector registered Type 1 above: their key (F, 1944-06-23, LS9 7AB) is kept as a digest.
    await load(
      toCsv(SOCIAL_HEADER, [
        social(LA, 'CL-OBJ2', null, '1944-06-23', 'F', 'LS9 7AB', { start: '2015-01-01' }),
        // At the look-alike's address: step 6 alone would give it to the look-alike.
        social(LA, 'CL-OBJ2', null, '1944-06-23', 'F', 'LS14 1XY', { start: '2019-01-01' }),
      ]),
    );
    expect(await client('CL-OBJ2')).toEqual([
      { start: '2015-01-01', ...nobody },
      { start: '2019-01-01', ...nobody },
    ]);
  });
});
