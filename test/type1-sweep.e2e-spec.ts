import { createTestApp, TestApp } from '@custodian/testing';
import { PracticesModule } from '@custodian/practices';
import { condition, ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Two practices' extracts at once: A stores a patient new to the centre while B registers that
 * patient's Type 1 objection. Neither transaction sees the other's rows before it commits, so both
 * commit and the objector is held (found by the fault-injection round of #29). The state that race
 * leaves — a held patient with an active Type 1 objection no deletion saw — is made here directly
 * (the interleaving itself is not reproducible on demand); the sweep each extract enqueues in its
 * own transaction must delete what is held of them.
 */
describe('Type 1 objectors held after concurrent extracts are swept (#29)', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    // The sweep every start queues has run (it found nothing), so it cannot take the first test's case.
    const deadline = Date.now() + 20_000;
    const done = async () =>
      (
        await t.sql.query(
          `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'practices.type1-sweep' AND state = 'completed'`,
        )
      ).rows[0].n;
    while ((await done()) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await done()).toBe(1);
  });
  afterAll(() => t?.close());

  /** An active Type 1 objection in the history and the register, written as no deletion saw it. */
  async function activeType1Unswept(nhs: string) {
    await t.sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source)
       VALUES ($1, 'type1', 'register', now() - interval '1 hour', 'api')`,
      [nhs],
    );
    await t.sql.query(
      `INSERT INTO objection_register (nhs_number, type, active, effective_on, effective_at)
       VALUES ($1, 'type1', true, current_date, now() - interval '1 hour')`,
      [nhs],
    );
  }
  const heldCount = async (nhs: string): Promise<number> =>
    (await t.sql.query(`SELECT count(*)::int AS n FROM patients WHERE nhs_number = $1`, [nhs])).rows[0].n;

  it("the next extract's sweep deletes a held patient whose active Type 1 objection no deletion saw", async () => {
    const objector = nhsNumber(951_001);
    await upload(t, a, 'A81001', ndjson([patient('p1', objector), condition('p1-c', 'p1')])).expect(201);
    // What the race leaves: the register says Type 1 (B committed) and the patient is held (A committed).
    await activeType1Unswept(objector);
    const held = () => heldCount(objector);
    expect(await held()).toBe(1);

    // Any later extract that stores patients or objections enqueues the sweep with its commit.
    await upload(t, a, 'A81001', ndjson([patient('p2', nhsNumber(951_002))])).expect(201);
    const deadline = Date.now() + 20_000;
    while ((await held()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await held(), 'the Type 1 objector is still held').toBe(0);
    const { rows } = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'objection.type1_held_deleted'`,
    );
    expect(rows.map((r) => r.details)).toEqual([{ patients: 1, cause: 'concurrent extracts' }]);
    // Nothing else went: the other patient is still held.
    expect(
      (
        await t.sql.query(`SELECT count(*)::int AS n FROM patients WHERE nhs_number = $1`, [
          nhsNumber(951_002),
        ])
      ).rows[0].n,
    ).toBe(1);
  }, 60_000);

  it('a start of the service sweeps too: what a migration made a Type 1 objection is not held until the next extract', async () => {
    const objector = nhsNumber(951_003);
    await upload(t, a, 'A81001', ndjson([patient('p3', objector), condition('p3-c', 'p3')])).expect(201);
    // The sweep that extract queued has run (else it, not the start's, would find the case below).
    const pending = async () =>
      (
        await t.sql.query(
          `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'practices.type1-sweep' AND state <> 'completed'`,
        )
      ).rows[0].n;
    for (const until = Date.now() + 20_000; (await pending()) > 0 && Date.now() < until;)
      await new Promise((r) => setTimeout(r, 100));
    // As migration 1764000048000 left it: the register decided again, the patient held.
    await activeType1Unswept(objector);
    const held = () => heldCount(objector);
    expect(await held()).toBe(1);
    // No extract: the service starts (its modules' bootstrap, as at every start).
    await t.app.get(PracticesModule).onApplicationBootstrap();
    const deadline = Date.now() + 20_000;
    while ((await held()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await held(), 'the Type 1 objector is still held').toBe(0);
    const { rows } = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'objection.type1_held_deleted' AND details ->> 'cause' = 'start'`,
    );
    expect(rows.map((r) => r.details)).toEqual([{ patients: 1, cause: 'start' }]);
  }, 60_000);
});
