import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { waitForLockWaiters } from './support/lock-waiters';

/**
 * Review 19: withdrawal retraction at the centre's intake (libs/practices/src/intake/objections.ts,
 * the `xrw` step, commit 27bd311). Raw extracts, no extractor.
 */
describe('review-19: withdrawal retraction', () => {
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
  const send = async (resources: unknown[]) => {
    const res = await upload(t, a, 'A81001', ndjson(resources));
    expect(res.status).toBe(201);
    return res.body;
  };

  // R19-1. A withdrawal once retracted can never apply again. The practice withdraws a Type 2
  // objection (extract 1); extract 2 does not carry the withdrawal (say the practice's system
  // missed it, or the practice marked it in error and then restored it) — retracted. Extract 3
  // carries exactly the same withdrawal again. recordExtractEntries' "already there" test
  // (same NHS number, type, action, instant, source, practice) matches the *retracted* row, so the
  // entry is not added; the xrw UPDATE only touches rows with retracted_at IS NULL, so nothing
  // un-retracts it. The practice's record says "withdrawn"; the centre keeps the objection forever
  // (for Type 1: deletes the person's data at every upload). Idempotence ("re-sending the same
  // extract does not duplicate anything") became "re-sending it can never restore the state".
  it('R19-1: a withdrawal carried again after a retraction lifts the objection again', async () => {
    const n = nhsNumber(919_011);
    const reg = objection('r1-reg', 'r1', '9Nu4', '2024-01-01T10:00:00Z');
    const wd = objection('r1-wd', 'r1', '9Nu5', '2024-06-01T10:00:00Z');
    await send([patient('r1', n), condition('r1-c', 'r1'), reg, wd]);
    expect(await register(n, 'type2')).toBe(false);
    await send([patient('r1', n), condition('r1-c', 'r1'), reg]);
    expect(await register(n, 'type2')).toBe(true);
    // the practice's record is as in extract 1 again
    await send([patient('r1', n), condition('r1-c', 'r1'), reg, wd]);
    const rows = (
      await t.sql.query(
        `SELECT action, effective_at, retracted_at FROM objection_events WHERE nhs_number = $1 ORDER BY id`,
        [n],
      )
    ).rows;
    console.log('R19-1 history:', JSON.stringify(rows));
    expect(await register(n, 'type2')).toBe(false);
  });

  // R19-2. A partial extract (the centre accepts entries whose subject is a patient held for this
  // practice, subjects.ts: "or one registered with this practice") names the patient in `xn`
  // without carrying their objection entries; every earlier extract withdrawal of theirs is then
  // "not carried again" and retracted. For Type 1 the defence step then deletes everything held for
  // the person, at every practice, on the strength of one new Condition.
  it('R19-2: an extract carrying only a new entry for a held patient does not retract their withdrawal', async () => {
    const n = nhsNumber(919_021);
    await send([
      patient('r2', n),
      condition('r2-c', 'r2'),
      objection('r2-reg', 'r2', '9Nu0', '2024-01-01T10:00:00Z'),
      objection('r2-wd', 'r2', '9Nu1', '2024-06-01T10:00:00Z'),
    ]);
    expect(await register(n, 'type1')).toBe(false);
    expect(await heldEvents(n)).toBe(1);
    // a later extract: one new Condition for the held patient, by the practice's own Patient id
    const body = await send([condition('r2-c2', 'r2', { onsetDateTime: '2025-02-01' })]);
    console.log('R19-2 report:', JSON.stringify(body));
    expect(await register(n, 'type1')).toBe(false);
    expect(await heldEvents(n)).toBe(2);
  });

  // R19-3. Same, Type 2, and at scale: the practice sends a delta of new entries for its
  // withdrawn objectors — each one's objection comes back into force.
  it('R19-3: a delta extract of new entries re-activates no Type 2 objection', async () => {
    const ns = [0, 1, 2].map((i) => nhsNumber(919_031 + i));
    await send(
      ns.flatMap((n, i) => [
        patient(`r3-${i}`, n),
        condition(`r3-${i}-c`, `r3-${i}`),
        objection(`r3-${i}-reg`, `r3-${i}`, '9Nu4', '2024-01-01T10:00:00Z'),
        objection(`r3-${i}-wd`, `r3-${i}`, '9Nu5', '2024-06-01T10:00:00Z'),
      ]),
    );
    for (const n of ns) expect(await register(n, 'type2')).toBe(false);
    await send(ns.map((_, i) => condition(`r3-${i}-c2`, `r3-${i}`, { onsetDateTime: '2025-02-01' })));
    const active = [];
    for (const n of ns) active.push(await register(n, 'type2'));
    expect(active).toEqual([false, false, false]);
  });

  // R19-7. Two extracts of different practices at once (both hold the register's barrier shared).
  // Practice A's extract retracts A's withdrawal of P's Type 2 objection (the register should become
  // active); practice B's extract names P too (any objection entry of its own). B's refresh
  // statement computes P's register row from a snapshot taken before A committed (withdrawal not yet
  // retracted: inactive), waits on the row A upserted, and then writes its stale `excluded` over
  // A's result (ON CONFLICT DO UPDATE under READ COMMITTED). The history says "in force"; the
  // register — what the Type 1 check, the API and the counts read — says "lifted". Forced here by
  // holding P's register row locked from the test's own connection while both extracts reach it.
  it('R19-7: a concurrent extract of another practice does not undo a retraction in the register', async () => {
    const b = await practiceReady(t, (await t.as('admin')).auth, 'A81002');
    const n = nhsNumber(919_071);
    const reg = objection('r7-reg', 'r7', '9Nu4', '2024-01-01T10:00:00Z');
    const wd = objection('r7-wd', 'r7', '9Nu5', '2024-06-01T10:00:00Z');
    await send([patient('r7', n), condition('r7-c', 'r7'), reg, wd]);
    expect(await register(n, 'type2')).toBe(false);
    await t.sql.query('BEGIN');
    await t.sql.query(`SELECT 1 FROM objection_register WHERE nhs_number = $1 FOR UPDATE`, [n]);
    // Each extract is let go on once it waits on a lock (seen from another connection: this one's
    // transaction would see one snapshot of pg_stat_activity), or after 1.5 s as before.
    const watcher = await t.db.superuser();
    const fromA = upload(t, a, 'A81001', ndjson([patient('r7', n), condition('r7-c', 'r7'), reg])).then(
      (r) => r,
    );
    await waitForLockWaiters(watcher, 1, 1500);
    const fromB = upload(
      t,
      b,
      'A81002',
      ndjson([patient('b7', n, {}, 'A81002'), objection('b7-wd', 'b7', '9Nu5', '2024-07-01T10:00:00Z')]),
    ).then((r) => r);
    await waitForLockWaiters(watcher, 2, 1500);
    await t.sql.query('COMMIT');
    const [ra, rb] = await Promise.all([fromA, fromB]);
    expect([ra.status, rb.status]).toEqual([201, 201]);
    const history = (
      await t.sql.query(
        `SELECT count(*)::int AS c FROM objections_as_of(now()) WHERE nhs_number = $1 AND type = 'type2'`,
        [n],
      )
    ).rows[0].c;
    expect({ history, register: await register(n, 'type2') }).toEqual({ history: 1, register: true });
  });
});
