import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { extractorRun } from './support/extractor-run';

/**
 * Review 19: the extractor's People (libs/practices/src/extractor-people.ts, commit 077524b) — all
 * NHS numbers carried together by a record, transitively, are "one person", yet `keys()` still
 * returns one key per number, and the withdrawal gates count keys ("a withdrawal naming two
 * patients (not applied)"). With 27bd311 the centre then retracts what earlier extracts carried.
 */
const extract = extractorRun('review19-');
const obs = (id: string, subject: Record<string, unknown>, codes: string[], date: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject,
  code: { coding: codes.map((code) => ({ system: READ, code })) },
  effectiveDateTime: date,
});
const withNumbers = (id: string, numbers: string[]) =>
  patient(id, numbers[0], { identifier: numbers.map((value) => ({ system: NHS, value })) });

describe('review-19: People at the extractor and the centre', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    a = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  const register = async (n: string, type: string) =>
    (
      await t.sql.query(`SELECT active FROM objection_register WHERE nhs_number = $1 AND type = $2`, [
        n,
        type,
      ])
    ).rows[0]?.active as boolean | undefined;
  const heldEvents = async (n: string) =>
    Number(
      (
        await t.sql.query(
          `SELECT count(*)::int AS c FROM gp_events e JOIN patients q ON q.id = e.patient_id WHERE q.nhs_number = $1`,
          [n],
        )
      ).rows[0].c,
    );

  // R19-4. One patient, one record, two NHS numbers (an old and a current one: the very case the
  // commit calls "one person"). Their Type 2 objection and its later withdrawal, by reference to
  // the record. keys() gives nhs:X and nhs:Y — "two persons" — so the withdrawal never leaves
  // (objectionLines: `persons.length < 2`), the registration does, for X and Y. The centre keeps
  // the objection in force for ever; a withdrawal an earlier extract carried is now retracted.
  it('R19-4: a withdrawal by a patient whose one record carries two NHS numbers leaves the practice', async () => {
    const [x, y] = [nhsNumber(919_041), nhsNumber(919_042)];
    const out = await extract([
      withNumbers('q1', [x, y]),
      condition('q1-c', 'q1'),
      obs('q1-reg', { reference: 'Patient/q1' }, ['9Nu4'], '2024-01-01T10:00:00Z'),
      obs('q1-wd', { reference: 'Patient/q1' }, ['9Nu5'], '2024-06-01T10:00:00Z'),
    ]);
    console.log('R19-4 warnings:', JSON.stringify(out.report.warnings));
    expect((await upload(t, a, 'A81001', out.text)).status).toBe(201);
    expect(await register(x, 'type2')).toBe(false);
  });

  // R19-5. A chain. Records q2 (A, B) and q3 (B, C) — one wrong identifier on one record (C's
  // record carrying B, e.g. a relative's number) — make A, B and C one "person". C registers a
  // Type 1 objection. With a longer chain one record made any number of patients objectors.
  // Since review-26 an objection reaches one step around the record it names (SPEC §2: records
  // sharing an NHS number are one patient; `Patient/c` (n0) beside a duplicate record [n0, n1]
  // left n1's held data released): B on both records takes A in, fail closed, and no further.
  it('R19-5: a Type 1 objection by C reaches A, one step around its record (B on both)', async () => {
    const [A, B, C] = [nhsNumber(919_051), nhsNumber(919_052), nhsNumber(919_053)];
    const base = [
      withNumbers('q2', [A, B]),
      condition('q2-c', 'q2'),
      withNumbers('q3', [C, B]),
      condition('q3-c', 'q3'),
    ];
    // q3's record with B is what makes the chain; before it, A is held normally
    const first = await extract([withNumbers('q2', [A, B]), condition('q2-c', 'q2')]);
    expect((await upload(t, a, 'A81001', first.text)).status).toBe(201);
    expect(await heldEvents(A)).toBe(1);
    const second = await extract([
      ...base,
      obs('q3-t1', { reference: 'Patient/q3' }, ['9Nu0'], '2024-01-01T10:00:00Z'),
    ]);
    const keptAtPractice = second.lines.some((l) => l.id === 'q2-c');
    expect((await upload(t, a, 'A81001', second.text)).status).toBe(201);
    // q2 itself carries B, a number C's objection names: the practice keeps q2 back, and A, beside
    // B on q2, is taken for the objector's (fail closed: nobody can tell whose B is).
    expect({ keptAtPractice, type1A: await register(A, 'type1'), heldA: await heldEvents(A) }).toEqual({
      keptAtPractice: false,
      type1A: true,
      heldA: 0,
    });
  });

  // R19-6. The same chain blocks withdrawals: A registered and later withdrew a Type 2 objection
  // (carried, applied at the centre). The practice then adds C's record carrying B: A's withdrawal
  // now "names two patients", no longer leaves, and the centre's new retraction step puts A's
  // objection back in force — A's data leaves every release for a record A has nothing to do with.
  it("R19-6: another patient's record sharing a number does not undo A's withdrawal at the centre", async () => {
    const [A, B, C] = [nhsNumber(919_061), nhsNumber(919_062), nhsNumber(919_063)];
    const own = [
      patient('q4', A),
      condition('q4-c', 'q4'),
      obs('q4-reg', { reference: 'Patient/q4' }, ['9Nu4'], '2024-01-01T10:00:00Z'),
      obs('q4-wd', { reference: 'Patient/q4' }, ['9Nu5'], '2024-06-01T10:00:00Z'),
    ];
    const first = await extract(own);
    expect((await upload(t, a, 'A81001', first.text)).status).toBe(201);
    expect(await register(A, 'type2')).toBe(false);
    // two further records: one carrying A and B (a duplicate of A's), one C's carrying B
    const second = await extract([
      ...own,
      withNumbers('q5', [B, A]),
      withNumbers('q6', [C, B]),
      condition('q6-c', 'q6'),
    ]);
    console.log('R19-6 warnings:', JSON.stringify(second.report.warnings));
    expect((await upload(t, a, 'A81001', second.text)).status).toBe(201);
    expect(await register(A, 'type2')).toBe(false);
  });
});
