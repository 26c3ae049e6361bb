import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Review 30, finding 1 (SPEC §2: "Duplicate Patient records with one NHS number are one patient: an
 * objection on either applies"; §5 step 2). a35422d widens an objection recorded through the API one
 * step through `nhs_number_aliases`. The intake's own reading of the same objection (`reach`,
 * subjects.ts) goes further: from the record's numbers to every number a Patient line carrying one
 * of them carries beside it. Two records sharing a number — [n1, n2] and [n3, n2] — are one person
 * for the extract, but an API objection on n1 reaches n2 only, and what is held under n3 is released
 * (Type 2) or stays held (Type 1). The same objection written in the practice's extract (on
 * Patient/p1) reaches n3: the API path is weaker than the extract path.
 *
 * Fixed (2026-12-07, session 15): wherever the register is read, an objection reaches two steps
 * through the pairs — the numbers of the records carrying the objector's number, then those of the
 * records sharing one of them (objections.sql.ts `ALIASES`; fail closed: SPEC §2 makes the two
 * records one patient). Not a closure (review-19). Both tests below failed before (`it.fails`).
 */
describe('review30: an API objection and two records that share a number', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 30_100;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const held = async (n: string) =>
    Number(
      (
        await t.sql.query(
          `SELECT count(*)::int AS c FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE p.nhs_number = $1`,
          [n],
        )
      ).rows[0].c,
    );
  const record = (id: string, stored: string, beside: string, ods = 'A81001') =>
    patient(
      id,
      stored,
      {
        identifier: [
          { system: NHS, value: stored },
          { system: NHS, value: beside },
        ],
      },
      ods,
    );

  it('control: the objection written in the extract on Patient/p1 reaches the duplicate record stored under n3', async () => {
    const [n1, n2, n3] = [nhsNumber(seed++), nhsNumber(seed++), nhsNumber(seed++)];
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        record('c1', n1, n2),
        record('c2', n3, n2),
        condition('c2-c', 'c2'),
        objection('c1-o', 'c1', '9Nu4', '2020-01-01'),
      ]),
    ).expect(201);
    expect(await held(n3)).toBe(1);
    expect(await gpRowsReleasedFor(t, n3)).toBe(0); // passes: `reach` goes through n2 to n3
  });

  it('Type 2 through the API on n1: the duplicate record stored under n3 is not released', async () => {
    const [n1, n2, n3] = [nhsNumber(seed++), nhsNumber(seed++), nhsNumber(seed++)];
    await upload(
      t,
      a,
      'A81001',
      ndjson([record('d1', n1, n2), record('d2', n3, n2), condition('d2-c', 'd2')]),
    ).expect(201);
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: n1, type: 'type2', action: 'register' })
      .expect(201);
    // Was 1: the aliases reached n2 only (n3 is an alias of n2, not of n1).
    expect(await gpRowsReleasedFor(t, n3)).toBe(0);
  });

  it('Type 1 through the API on n1, the duplicate held by another practice under n3: deleted, not released', async () => {
    const [n1, n2, n3] = [nhsNumber(seed++), nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', ndjson([record('e1', n1, n2)])).expect(201);
    await upload(t, b, 'B82002', ndjson([record('e2', n3, n2, 'B82002'), condition('e2-c', 'e2')])).expect(
      201,
    );
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: n1, type: 'type1', action: 'register' })
      .expect(201);
    // Was { held: 1, released: 1 }.
    expect({ held: await held(n3), released: await gpRowsReleasedFor(t, n3) }).toEqual({
      held: 0,
      released: 0,
    });
  });
});
