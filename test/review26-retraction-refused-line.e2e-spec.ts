import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 26, finding 6 (SPEC §2, fail closed; review-19: "this practice's earlier withdrawals that
 * the extract no longer carries, for the patients whose record it carries, stop counting"). The fix
 * makes a refused Patient line, and an earlier line of an id, "who the id names" (`idn`) for
 * registrations, but `retractMissingWithdrawals` still takes the carried patients from `xp` only.
 * A Type 1 objection withdrawn in extract 1; the re-sent extract no longer carries the withdrawal:
 * - Patient line stored: the withdrawal stops counting, the objection is in force again, what was
 *   held is deleted (as it should);
 * - the same Patient line refused for its birth date, or written before a later line of its id:
 *   the withdrawal still counts, the patient is no objector, and the diagnosis held from extract 1
 *   stays (released).
 */
describe('review26: a withdrawal the re-sent extract no longer carries, the Patient line not stored', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let seed = 28_000;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  const state = async (n: string) =>
    (
      await t.sql.query(
        `SELECT (SELECT count(*)::int FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE p.nhs_number = $1) AS events,
                coalesce((SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type1'), false) AS type1`,
        [n],
      )
    ).rows[0] as { events: number; type1: boolean };

  const cases: [string, (id: string, n: string, other: string) => unknown[]][] = [
    ['stored (the control)', (id, n) => [patient(id, n)]],
    ['refused for its birth date', (id, n) => [patient(id, n, { birthDate: '2999-01-01' })]],
    ['an earlier line of its id', (id, n, other) => [patient(id, n), patient(id, other)]],
  ];

  it.each(cases)('the Patient line %s: the Type 1 objection is in force again', async (_, lines) => {
    const [n, other] = [nhsNumber(seed++), nhsNumber(seed++)];
    const id = `r${seed}`;
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient(id, n),
        condition(`${id}-c`, id),
        objection(`${id}-o`, id, '9Nu0', '2020-01-01T10:00:00Z'),
        objection(`${id}-w`, id, '9Nu1', '2021-01-01T10:00:00Z'),
      ]),
    ).expect(201);
    expect(await state(n)).toEqual({ events: 1, type1: false });
    await upload(t, a, 'A81001', ndjson([...lines(id, n, other), condition(`${id}-c2`, id)])).expect(201);
    // Today, refused or earlier line: { events: 1, type1: false }.
    expect(await state(n)).toEqual({ events: 0, type1: true });
  });
});
