import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, patient } from './support/fhir';
import { nextSecond, practiceReady, upload } from './support/practice';

/**
 * SPEC §2 "Objection register": any practice may register an objection; a practice may withdraw
 * only one it recorded itself or one of a patient currently registered with it; a refused
 * withdrawal answers exactly as an unknown NHS number does, and no answer reveals whether the
 * centre (or another practice) holds an NHS number.
 */
describe('objection authority: who may withdraw, and answers that reveal nothing', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const post = (auth: { Authorization: string }, body: object) =>
    t.http.post('/api/objections').set(auth).send(body);
  /** The answer without what differs per request (request id) or per stored row (event id). */
  const answer = (res: {
    status: number;
    body: Record<string, unknown>;
    headers: Record<string, string>;
  }) => {
    // Per call, whoever holds the number: the request and event ids, and the time received.
    const { requestId: _r, id: _i, effectiveAt: _at, ...body } = res.body;
    return { status: res.status, type: res.headers['content-type'], body };
  };
  const state = async () =>
    (
      await t.sql.query(`SELECT
        (SELECT count(*)::int FROM objection_events) AS events,
        (SELECT json_agg(r ORDER BY r.nhs_number, r.type) FROM objection_register r) AS register,
        (SELECT count(*)::int FROM audit_log WHERE action = 'objection.record') AS audited`)
    ).rows[0];

  it('an API withdrawal in the same second as the objection does not lift it: instants to the second, the tie to the objection (SPEC §2)', async () => {
    // Before: the API kept the time received to the microsecond, so a withdrawal 120 ms after the
    // objection was "later" and the patient was released (an outsider's probe, 2026-12-06).
    let tried = 0;
    for (;;) {
      const n = nhsNumber(900_500 + tried);
      // Start early in a second, so that both calls fall in it unless the machine is very slow.
      while (Date.now() % 1000 > 100) await new Promise((r) => setTimeout(r, 10));
      await post(a, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
      const res = await post(a, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(201);
      const { rows } = await t.sql.query(
        `SELECT effective_at = date_trunc('second', effective_at) AS whole, extract(epoch FROM effective_at)::bigint AS s
           FROM objection_events WHERE nhs_number = $1 ORDER BY id`,
        [n],
      );
      expect(rows.map((r) => r.whole)).toEqual([true, true]);
      if (rows[0].s !== rows[1].s && ++tried < 5) continue; // a second boundary in between: again
      expect(rows[0].s).toBe(rows[1].s);
      expect(res.body.active).toBe(true);
      const reg = await t.sql.query(
        `SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'`,
        [n],
      );
      expect(reg.rows[0].active).toBe(true);
      const asOf = await t.sql.query(
        `SELECT count(*)::int AS n FROM objections_as_of(now()) WHERE nhs_number = $1`,
        [n],
      );
      expect(asOf.rows[0].n).toBe(1);
      break;
    }
  });

  it("B cannot withdraw A's patient's objection recorded by A: the same answer as a never-seen NHS number, nothing written", async () => {
    const n = nhsNumber(900_001);
    await upload(t, a, 'A81001', ndjson([patient('oa1', n), condition('oa1-c', 'oa1')])).expect(201);
    await post(a, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);

    const before = await state();
    const held = await post(b, { nhsNumber: n, type: 'type2', action: 'withdraw' });
    const unknown = await post(b, { nhsNumber: nhsNumber(900_999), type: 'type2', action: 'withdraw' });
    expect(held.status).toBe(404);
    expect(answer(held)).toEqual(answer(unknown));
    expect(held.text.replace(held.body.requestId, '')).toBe(unknown.text.replace(unknown.body.requestId, ''));
    expect(await state()).toEqual(before);
    // Nothing active to withdraw, even for its own patient: the same answer.
    const nothing = await post(a, { nhsNumber: n, type: 'type1', action: 'withdraw' });
    expect(answer(nothing)).toEqual(answer(unknown));
    expect(await state()).toEqual(before);
  });

  it('B can withdraw an objection it recorded itself, for a patient held by A', async () => {
    const n = nhsNumber(900_002);
    await upload(t, a, 'A81001', ndjson([patient('oa2', n)])).expect(201);
    const reg = await post(b, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    expect(reg.body).toMatchObject({ active: true, heldRecordsDeleted: 0 });
    await nextSecond(); // a withdrawal in the objection's second does not lift it (SPEC §2)
    const w = await post(b, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(201);
    expect(w.body).toMatchObject({ action: 'withdraw', active: false });
    const { rows } = await t.sql.query(
      'SELECT action, practice_ods FROM objection_events WHERE nhs_number = $1 ORDER BY id',
      [n],
    );
    expect(rows).toEqual([
      { action: 'register', practice_ods: 'B82002' },
      { action: 'withdraw', practice_ods: 'B82002' },
    ]);
  });

  it('A can withdraw an objection recorded by B for its current patient; once the patient moves to B, B cannot withdraw what was recorded before it held them, and A only its own', async () => {
    const n = nhsNumber(900_003);
    await upload(t, a, 'A81001', ndjson([patient('oa3', n)])).expect(201);
    await post(b, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    await nextSecond(); // a withdrawal in the objection's second does not lift it (SPEC §2)
    // A held the patient before B recorded it: A may withdraw it.
    expect((await post(a, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(201)).body.active).toBe(
      false,
    );
    // A records one; the patient then registers with B (B's extract): B is their current practice,
    // but its registration came after A's objection — an upload B could make just to lift it
    // (an outsider's probe): refused, the one answer.
    await post(a, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    await nextSecond();
    await upload(t, b, 'B82002', ndjson([patient('ob3', n, {}, 'B82002')])).expect(201);
    const { rows } = await t.sql.query('SELECT practice_ods FROM patients WHERE nhs_number = $1', [n]);
    expect(rows).toEqual([{ practice_ods: 'B82002' }]);
    await nextSecond();
    const before = await state();
    const refused = await post(b, { nhsNumber: n, type: 'type2', action: 'withdraw' });
    const unknown = await post(b, { nhsNumber: nhsNumber(900_997), type: 'type2', action: 'withdraw' });
    expect(answer(refused)).toEqual(answer(unknown));
    expect(refused.status).toBe(404);
    expect(await state()).toEqual(before);
    // B records one and withdraws its own: A's objection stands.
    await post(b, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    await nextSecond();
    expect((await post(b, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(201)).body.active).toBe(
      true,
    );
    // A, no longer the current practice, withdraws the one it recorded: the objection ends.
    expect((await post(a, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(201)).body.active).toBe(
      false,
    );
    // B records one since it holds the patient: A may not withdraw it (the one answer).
    await post(b, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    await nextSecond();
    const refusedA = await post(a, { nhsNumber: n, type: 'type2', action: 'withdraw' });
    expect(answer(refusedA)).toEqual(answer(unknown));
    // B, holding the patient since before it was recorded, may.
    expect((await post(b, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(201)).body.active).toBe(
      false,
    );
  });

  it("a practice cannot lift another practice's objection by registering one itself and withdrawing it (an outsider's probe)", async () => {
    const n = nhsNumber(900_004);
    await upload(t, a, 'A81001', ndjson([patient('oa4', n)])).expect(201);
    await post(a, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    await post(a, { nhsNumber: n, type: 'type1', action: 'register' }).expect(201);
    await nextSecond();
    for (const type of ['type2', 'type1']) {
      await post(b, { nhsNumber: n, type, action: 'register' }).expect(201);
      await nextSecond();
      // B withdraws its own: allowed, but A's objection stands — and the answer does not tell B so
      // (B does not hold the patient: it may know of its own objection only).
      expect((await post(b, { nhsNumber: n, type, action: 'withdraw' }).expect(201)).body.active).toBe(false);
    }
    const { rows } = await t.sql.query(
      `SELECT type, active FROM objection_register WHERE nhs_number = $1 ORDER BY type`,
      [n],
    );
    expect(rows).toEqual([
      { type: 'type1', active: true },
      { type: 'type2', active: true },
    ]);
  });

  it("a practice cannot lift another practice's objection by uploading the patient to become their current practice, through the API or in its extract (an outsider's probe)", async () => {
    const n = nhsNumber(900_005);
    await upload(t, a, 'A81001', ndjson([patient('oa5', n)])).expect(201);
    await post(a, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    await nextSecond();
    // B conjures a registration: now the patient's current practice.
    await upload(t, b, 'B82002', ndjson([patient('ob5', n, {}, 'B82002')])).expect(201);
    await nextSecond();
    await post(b, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(404);
    // Nor with a withdrawal in its next extract, dated now.
    const now = new Date(Date.now() - 1000).toISOString().slice(0, 19) + 'Z';
    await upload(
      t,
      b,
      'B82002',
      ndjson([
        patient('ob5', n, {}, 'B82002'),
        {
          resourceType: 'Observation',
          id: 'ob5-w',
          status: 'final',
          subject: { reference: 'Patient/ob5' },
          code: { coding: [{ system: 'http://read.info/readv2', code: '9Nu5' }] },
          effectiveDateTime: now,
        },
      ]),
    ).expect(201);
    const { rows } = await t.sql.query(
      `SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'`,
      [n],
    );
    expect(rows).toEqual([{ active: true }]);
    // What a release reads says the same.
    const { rows: asOf } = await t.sql.query(
      `SELECT count(*)::int AS n FROM objections_as_of(now()) WHERE nhs_number = $1 AND type = 'type2'`,
      [n],
    );
    expect(asOf[0].n).toBe(1);
  });

  it('a former practice cannot take its authority back: an unchanged re-send makes it current again, but not over what was recorded while it was not (a review)', async () => {
    const n = nhsNumber(900_006);
    await upload(t, a, 'A81001', ndjson([patient('fa6', n)])).expect(201);
    await nextSecond();
    await upload(t, b, 'B82002', ndjson([patient('fb6', n, {}, 'B82002')])).expect(201);
    await nextSecond();
    await post(b, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    await nextSecond();
    await post(a, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(404);
    // A re-sends the patient as it was: its registration is the current one again.
    await upload(t, a, 'A81001', ndjson([patient('fa6', n)])).expect(201);
    const { rows } = await t.sql.query('SELECT practice_ods FROM patients WHERE nhs_number = $1', [n]);
    expect(rows).toEqual([{ practice_ods: 'A81001' }]);
    await nextSecond();
    await post(a, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(404);
    // Nor through a withdrawal line in its extract (no Patient line: not even current then).
    await upload(t, b, 'B82002', ndjson([patient('fb6', n, {}, 'B82002')])).expect(201);
    await nextSecond();
    const now = new Date(Date.now() - 1000).toISOString().slice(0, 19) + 'Z';
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        {
          resourceType: 'Observation',
          id: 'fa6-w',
          status: 'final',
          subject: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: n } },
          code: { coding: [{ system: 'http://read.info/readv2', code: '9Nu5' }] },
          effectiveDateTime: now,
        },
      ]),
    ).expect(201);
    const active = await t.sql.query(
      `SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'`,
      [n],
    );
    expect(active.rows).toEqual([{ active: true }]);
  });

  it("no answer tells a practice that another practice's objection is in force: the withdrawal's answer, the summary, the extract report (a review)", async () => {
    const n = nhsNumber(900_007); // A holds them and objected
    const m = nhsNumber(900_008); // nobody objected
    await upload(t, a, 'A81001', ndjson([patient('oa7', n)])).expect(201);
    await post(a, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    await nextSecond();
    const summary = async () => (await t.http.get('/api/objections/summary').set(b).expect(200)).body.active;
    const before = await summary();
    const answers = [];
    for (const x of [n, m]) {
      await post(b, { nhsNumber: x, type: 'type2', action: 'register' }).expect(201);
      await nextSecond();
      answers.push(answer(await post(b, { nhsNumber: x, type: 'type2', action: 'withdraw' }).expect(201)));
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0].body).toMatchObject({ active: false });
    expect(await summary()).toEqual(before);
    // An extract of B carrying a Type 1 objector it never held: the report says the same whether
    // another practice held them (A held n) or nobody did (m).
    const reports = [];
    for (const [x, id] of [
      [n, 'mk7n'],
      [m, 'mk7m'],
    ])
      reports.push(
        (
          await upload(
            t,
            b,
            'B82002',
            ndjson([
              {
                resourceType: 'Patient',
                id,
                identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: x }],
              },
              {
                resourceType: 'Observation',
                id: `${id}-o`,
                status: 'final',
                subject: { reference: `Patient/${id}` },
                code: { coding: [{ system: 'http://read.info/readv2', code: '9Nu0' }] },
                effectiveDateTime: '2020-01-01T10:00:00Z',
              },
            ]),
          ).expect(201)
        ).body.dropped.type1,
      );
    expect(reports[0]).toEqual(reports[1]);
    expect(reports[0].heldDeleted).toBe(0);
    // A's data went all the same.
    const held = await t.sql.query('SELECT count(*)::int AS n FROM patients WHERE nhs_number = $1', [n]);
    expect(held.rows[0].n).toBe(0);
  });

  it('registering an objection answers the same for a number held elsewhere and one never seen', async () => {
    const n = nhsNumber(900_004);
    await upload(t, a, 'A81001', ndjson([patient('oa4', n), condition('oa4-c', 'oa4')])).expect(201);
    for (const type of ['type2', 'type1'] as const) {
      const held = await post(b, { nhsNumber: n, type, action: 'register' });
      const unknown = await post(b, {
        nhsNumber: nhsNumber(900_990 + (type === 'type1' ? 1 : 2)),
        type,
        action: 'register',
      });
      expect(held.status).toBe(201);
      expect(answer(held)).toEqual(answer(unknown));
    }
    // The Type 1 objection still applies everywhere: A's GP data for the patient is gone.
    const { rows } = await t.sql.query('SELECT count(*)::int AS n FROM patients WHERE nhs_number = $1', [n]);
    expect(rows[0].n).toBe(0);
  });

  it('a Type 1 registration by another practice while an extract carrying the patient for the first time is being merged: nothing of the patient stays', async () => {
    const n = nhsNumber(900_005);
    // Hold the extract inside its merge (after its Type 1 check, at its events insert).
    const blocker = await t.db.superuser();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE gp_events IN EXCLUSIVE MODE');
    const extract = upload(t, a, 'A81001', ndjson([patient('oa5', n), condition('oa5-c', 'oa5')])).then(
      (r) => r,
    );
    const waiting = async (pattern: string) => {
      for (let i = 0; i < 200; i++) {
        const { rows } = await t.sql.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
          [pattern],
        );
        if (rows[0].n > 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`nothing waiting on ${pattern}`);
    };
    await waiting('%INSERT INTO gp_events%');
    const objection = post(b, { nhsNumber: n, type: 'type1', action: 'register' }).then((r) => r);
    // Give the objection time to commit if nothing holds it back.
    await new Promise((r) => setTimeout(r, 500));
    await blocker.query('COMMIT');
    const [x, o] = await Promise.all([extract, objection]);
    expect([x.status, o.status]).toEqual([201, 201]);
    const { rows } = await t.sql.query(
      `SELECT (SELECT count(*) FROM patients WHERE nhs_number = $1)::int AS p,
              (SELECT count(*) FROM gp_events WHERE resource_id = 'oa5-c')::int AS e`,
      [n],
    );
    expect(rows[0]).toEqual({ p: 0, e: 0 });
  });

  it("a practice's counts: the active objections of the patients it holds, whoever recorded them, and those it recorded", async () => {
    const n = nhsNumber(900_321);
    const summary = async (auth: { Authorization: string }) =>
      (await t.http.get('/api/objections/summary').set(auth).expect(200)).body;
    const [beforeA, beforeB] = [await summary(a), await summary(b)];
    await upload(t, a, 'A81001', ndjson([patient('os1', n), condition('os1-c', 'os1')])).expect(201);
    await post(b, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    // A holds the patient (the practice's held patients, asked of practices through HELD_GP_DATA).
    expect((await summary(a)).active.type2).toBe(beforeA.active.type2 + 1);
    expect((await summary(a)).recorded.register).toBe(beforeA.recorded.register);
    // B recorded it.
    expect((await summary(b)).active.type2).toBe(beforeB.active.type2 + 1);
    expect((await summary(b)).recorded.register).toBe(beforeB.recorded.register + 1);
  });
});
