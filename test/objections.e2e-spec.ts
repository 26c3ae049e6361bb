import fc from 'fast-check';
import { isValidNhsNumber } from '@custodian/core';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, invalidNhsNumber, ndjson, nhsNumber, patient } from './support/fhir';
import { nextSecond, practiceReady, upload } from './support/practice';

describe('objections through the API (POST /api/objections)', () => {
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

  it('refuses invalid NHS numbers, types and actions with 400, storing nothing', async () => {
    for (const nhsNumber of [
      invalidNhsNumber(1),
      '1111111111',
      '943476591',
      '94347659199',
      'abcdefghij',
      9434765919,
    ]) {
      const res = await post(a, { nhsNumber, type: 'type1', action: 'register' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(res.body)).not.toContain(String(nhsNumber));
    }
    await post(a, { nhsNumber: nhsNumber(1), type: 'type3', action: 'register' }).expect(400);
    await post(a, { nhsNumber: nhsNumber(1), type: 'type1', action: 'delete' }).expect(400);
    await post(a, {
      nhsNumber: nhsNumber(1),
      type: 'type1',
      action: 'register',
      effectiveOn: '2020-01-01',
    }).expect(400);
    const { rows } = await t.sql.query('SELECT count(*)::int AS n FROM objection_events');
    expect(rows[0].n).toBe(0);
  });

  it('refuses random invalid NHS numbers with 400 (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 12 }), fc.stringMatching(/^\d{10}$/)), async (s) => {
        fc.pre(!isValidNhsNumber(s));
        const res = await post(a, { nhsNumber: s, type: 'type2', action: 'register' });
        expect(res.status).toBe(400);
      }),
      { numRuns: 30 },
    );
  });

  it('only practices record objections', async () => {
    for (const role of ['admin', 'researcher', 'data_manager'] as const)
      await post((await t.as(role)).auth, {
        nhsNumber: nhsNumber(2),
        type: 'type2',
        action: 'register',
      }).expect(403);
  });

  it('Type 2 register, withdraw, register again: state and history, audited without the NHS number', async () => {
    const n = nhsNumber(10_000);
    const before = Date.now();
    const r1 = await post(a, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    expect(r1.body).toMatchObject({ type: 'type2', action: 'register', active: true, heldRecordsDeleted: 0 });
    expect(r1.body.effectiveOn).toBe(new Date().toISOString().slice(0, 10));
    // Effective from the time received (issue #19): its instant, in UTC.
    expect(r1.body.effectiveAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(Date.parse(r1.body.effectiveAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(r1.body.effectiveAt)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(r1.body.effectiveAt.slice(0, 10)).toBe(r1.body.effectiveOn);
    await nextSecond(); // to the second, a tie to the objection (SPEC §2)
    const r2 = await post(a, { nhsNumber: n, type: 'type2', action: 'withdraw' }).expect(201);
    expect(r2.body.active).toBe(false);
    const r3 = await post(a, { nhsNumber: n, type: 'type2', action: 'register' }).expect(201);
    expect(r3.body.active).toBe(true);
    const { rows: history } = await t.sql.query(
      `SELECT id::text, action, source, practice_ods,
              to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
         FROM objection_events WHERE nhs_number = $1 ORDER BY id`,
      [n],
    );
    expect(history.map((h) => h.at)).toEqual([r1, r2, r3].map((r) => r.body.effectiveAt));
    expect(history.map((h) => [h.action, h.source, h.practice_ods])).toEqual([
      ['register', 'api', 'A81001'],
      ['withdraw', 'api', 'A81001'],
      ['register', 'api', 'A81001'],
    ]);
    const reg = await t.sql.query('SELECT type, active FROM objection_register WHERE nhs_number = $1', [n]);
    expect(reg.rows).toEqual([{ type: 'type2', active: true }]);
    const asOf = await t.sql.query(
      'SELECT count(*)::int AS n FROM objections_as_of(now()) WHERE nhs_number = $1',
      [n],
    );
    expect(asOf.rows[0].n).toBe(1);
    const audit = await t.sql.query(
      `SELECT subject_type, subject_id, details FROM audit_log WHERE action = 'objection.record' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.subject_id)).toEqual(history.map((h) => h.id));
    expect(audit.rows[1].details).toEqual({
      source: 'api',
      practiceOds: 'A81001',
      type: 'type2',
      action: 'withdraw',
      registerChanged: true,
      active: false,
      heldRecordsDeleted: 0,
    });
    expect(JSON.stringify(audit.rows)).not.toContain(n);
  });

  it('a Type 1 registration deletes the GP data held for the patient (another practice may register one too: test/objection-authority)', async () => {
    const n = nhsNumber(20_000);
    await upload(t, a, 'A81001', ndjson([patient('api-t1', n), condition('api-t1-c', 'api-t1')])).expect(201);
    const res = await post(a, { nhsNumber: n, type: 'type1', action: 'register' }).expect(201);
    expect(res.body).toMatchObject({ active: true, heldRecordsDeleted: 1 });
    const { rows } = await t.sql.query(
      `SELECT (SELECT count(*) FROM patients WHERE nhs_number = $1)::int AS p,
              (SELECT count(*) FROM gp_events WHERE resource_id = 'api-t1-c')::int AS e`,
      [n],
    );
    expect(rows[0]).toEqual({ p: 0, e: 0 });
    // …and a later extract carrying the patient stores nothing of them.
    const again = await upload(
      t,
      a,
      'A81001',
      ndjson([patient('api-t1', n), condition('api-t1-c', 'api-t1')]),
    ).expect(201);
    expect(again.body).toMatchObject({ patients: 0, resources: 0 });
    expect(again.body.dropped.type1).toMatchObject({ patients: 1, resources: 1 });
  });

  it('accepts an objection for a patient the centre does not hold yet (bound to the caller)', async () => {
    const n = nhsNumber(30_000);
    await post(b, { nhsNumber: n, type: 'type1', action: 'register' }).expect(201);
    const { rows } = await t.sql.query(
      'SELECT practice_ods, source FROM objection_events WHERE nhs_number = $1',
      [n],
    );
    expect(rows).toEqual([{ practice_ods: 'B82002', source: 'api' }]);
  });
});
