import { JobsService } from '@custodian/database';
import { createTestApp, TestApp } from '@custodian/testing';
import { HES_HEADER, hes, insertPatients, nhsNumber, SOCIAL_HEADER, social, toCsv } from './linkage-fixtures';

/**
 * Issue #26: linkage never gives one person's hospital or social-care row to another when the
 * evidence cannot tell. Step 6 (no NHS number) needs sex + DOB + full postcode, and every person the
 * centre knows to have them — a held patient, a Type 1 objector's kept digest, or someone an NHS
 * number on another source row names (an outsider, an objector never held) — is a candidate; more
 * than one, or one not held, and the row is nobody's. Step 7 is step 6 with the day and month of the
 * DOB swapped as well (same year).
 */
describe('linkage precision (issue #26)', () => {
  let t: TestApp;
  let dm: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    dm = (await t.as('data_manager')).auth;
  });
  afterAll(() => t?.close());

  const upload = async (path: 'hes' | 'social-care', csv: string) =>
    (await t.http.post(`/api/sources/${path}`).set(dm).set('Content-Type', 'text/csv').send(csv).expect(201))
      .body as { linkedByStep: Record<string, number>; unlinked: number };
  const linkOf = async (table: 'hes_episodes' | 'social_care_records', where: string, params: unknown[]) => {
    const { rows } = await t.sql.query(
      `SELECT patient_id::int AS "patientId", linkage_step AS step FROM ${table} WHERE ${where}`,
      params,
    );
    return rows[0] as { patientId: number | null; step: number | null };
  };
  const hesLink = (epikey: string) => linkOf('hes_episodes', 'epikey = $1', [epikey]);
  const nobody = { patientId: null, step: null };

  it('a row without an NHS number that agrees with a held patient on sex and DOB only (another area) is nobody’s', async () => {
    const n = nhsNumber(261000001);
    await insertPatients(t.sql, [{ nhs: n, dob: '1947-10-23', sex: 'F', postcode: 'LS16 5QE' }]);
    // Someone the centre does not hold (an outsider, or a Type 1 objector never held), in Bradford.
    const r = await upload('hes', toCsv(HES_HEADER, [hes('O1', null, '1947-10-23', '2', 'BD3 9PL')]));
    expect(r.unlinked).toBe(1);
    expect(await hesLink('O1')).toEqual(nobody);
    // Social care the same.
    await upload(
      'social-care',
      toCsv(SOCIAL_HEADER, [social('E08000032', 'O1SC', null, '1947-10-23', 'F', 'BD3 9PL')]),
    );
    expect(await linkOf('social_care_records', 'person_id = $1', ['O1SC'])).toEqual(nobody);
  });

  it('a person named by an NHS number on another row is a candidate: the held twin does not get the other twin’s row', async () => {
    const held = nhsNumber(261000101);
    const objector = nhsNumber(261000201); // a Type 1 objector never held: only their marker reached the centre
    const ids = await insertPatients(t.sql, [
      { nhs: held, dob: '1991-06-14', sex: 'M', postcode: 'LS8 2PT' },
    ]);
    await upload(
      'hes',
      toCsv(HES_HEADER, [
        hes('TW1', objector, '1991-06-14', '1', 'LS8 2PT'), // the objector twin, named
        hes('TW2', null, '1991-06-14', '1', 'LS8 2PT'), // either twin: nobody's
        hes('TW3', held, '1991-06-14', '1', 'LS8 2PT'), // the held twin, named: step 1
      ]),
    );
    expect(await hesLink('TW1')).toEqual(nobody);
    expect(await hesLink('TW2')).toEqual(nobody);
    expect(await hesLink('TW3')).toEqual({ patientId: ids.get(held), step: 1 });
  });

  it('a row named elsewhere later: the next load reviews the link it made (fail closed)', async () => {
    const held = nhsNumber(261000301);
    const outsider = nhsNumber(261000401);
    const ids = await insertPatients(t.sql, [
      { nhs: held, dob: '1983-02-09', sex: 'F', postcode: 'LS9 7TF' },
    ]);
    await upload('hes', toCsv(HES_HEADER, [hes('LA1', null, '1983-02-09', '2', 'LS9 7TF')]));
    expect(await hesLink('LA1')).toEqual({ patientId: ids.get(held), step: 6 });
    // Social care names another person with the same sex, DOB and postcode.
    await upload(
      'social-care',
      toCsv(SOCIAL_HEADER, [social('E08000035', 'LA1SC', outsider, '1983-02-09', 'F', 'LS9 7TF')]),
    );
    expect(await hesLink('LA1')).toEqual(nobody);
  });

  it("the person's own named rows are evidence: a mover's row without an NHS number links at step 6", async () => {
    const n = [nhsNumber(261000501), nhsNumber(261000601)];
    const ids = await insertPatients(t.sql, [
      { nhs: n[0], dob: '1962-03-27', sex: 'M', postcode: 'LS17 8HQ' },
      // Same sex and DOB elsewhere: sex + DOB alone could not tell them apart.
      { nhs: n[1], dob: '1962-03-27', sex: 'M', postcode: 'OX4 1AA' },
    ]);
    await upload(
      'hes',
      toCsv(HES_HEADER, [
        hes('MV1', n[0], '1962-03-27', '1', 'HX1 2RS'), // moved: step 2
        hes('MV2', null, '1962-03-27', '1', 'HX1 2RS'), // same hospital address, no NHS number
      ]),
    );
    expect(await hesLink('MV1')).toEqual({ patientId: ids.get(n[0]), step: 2 });
    expect(await hesLink('MV2')).toEqual({ patientId: ids.get(n[0]), step: 6 });
  });

  it('step 7: a row without an NHS number whose day and month are swapped (same year, sex, postcode) links to the one person with that date; another year, or a second person, and it is nobody’s', async () => {
    const n = [nhsNumber(261000701), nhsNumber(261000711), nhsNumber(261000721)];
    const ids = await insertPatients(t.sql, [
      { nhs: n[0], dob: '1975-04-11', sex: 'F', postcode: 'WF1 3JS' },
      // Same day and month, another year, at another address: any partial DOB would have taken them.
      { nhs: n[1], dob: '1968-07-03', sex: 'M', postcode: 'WF4 2BB' },
      // Two people: one held, one named by an outsider's row with the swapped date.
      { nhs: n[2], dob: '1950-02-09', sex: 'F', postcode: 'WF9 1AA' },
    ]);
    await upload(
      'social-care',
      toCsv(SOCIAL_HEADER, [
        social('E08000036', 'P71SC', null, '1975-11-04', 'F', 'WF1 3JS'), // day and month swapped
        social('E08000036', 'P73SC', nhsNumber(261000731), '1950-02-09', 'F', 'WF9 1AA'), // an outsider, named with the held one's date
        social('E08000036', 'P74SC', null, '1950-09-02', 'F', 'WF9 1AA'), // either of two: nobody's
      ]),
    );
    await upload(
      'hes',
      toCsv(HES_HEADER, [
        hes('P71', null, '1975-11-04', '2', 'WF1 3JS'), // day and month swapped
        hes('P72', null, '1975-04-11', '2', 'WF2 0DQ'), // right DOB, another postcode
        hes('P73', null, '1969-07-03', '1', 'WF4 2BB'), // another year: not a swap
      ]),
    );
    const social7 = (id: string) => linkOf('social_care_records', 'person_id = $1', [id]);
    expect(await social7('P71SC')).toEqual({ patientId: ids.get(n[0]), step: 7 });
    expect(await hesLink('P71')).toEqual({ patientId: ids.get(n[0]), step: 7 });
    expect(await hesLink('P72')).toEqual(nobody);
    expect(await hesLink('P73')).toEqual(nobody);
    expect(await social7('P74SC')).toEqual(nobody);
  });

  it('the re-link job reviews links made by steps 6 and 7 under the old rule, and unlinks those the evidence no longer supports', async () => {
    const n = nhsNumber(261000801);
    const ids = await insertPatients(t.sql, [{ nhs: n, dob: '1939-12-02', sex: 'M', postcode: 'S10 2TN' }]);
    await upload('hes', toCsv(HES_HEADER, [hes('RL1', null, '1939-12-02', '1', 'NE6 5XX')]));
    expect(await hesLink('RL1')).toEqual(nobody);
    // As a load before issue #26 left it: linked at step 7 on sex + DOB alone.
    await t.sql.query(`UPDATE hes_episodes SET patient_id = $1, linkage_step = 7 WHERE epikey = 'RL1'`, [
      ids.get(n),
    ]);
    await t.app
      .get(JobsService)
      .send('linkage.relink', { extractId: '26262626-2626-4626-8626-262626262626' });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await hesLink('RL1')).patientId !== null)
      await new Promise((r) => setTimeout(r, 200));
    expect(await hesLink('RL1')).toEqual(nobody);
  });
});
