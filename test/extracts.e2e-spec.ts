import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createTestApp, TEST_PASSWORD, TestApp } from '@custodian/testing';
import {
  condition,
  ETHNIC,
  medication,
  ndjson,
  nhsNumber,
  objection,
  observation,
  patient,
  procedure,
  SCT,
} from './support/fhir';
import { counts, practiceReady, upload } from './support/practice';

const fixture = (p: string) => readFileSync(path.join(__dirname, 'fixtures/extracts', p), 'utf8');

describe('extract intake (POST /api/practices/:ods/extracts)', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  it('stores the ok fixture, maps it to the centre tables, keeps the report and queues relinking', async () => {
    const res = await upload(t, a, 'A81001', fixture('ok/small-practice.ndjson')).expect(201);
    expect(Object.keys(res.body).sort()).toEqual(
      [
        'dropped',
        'extractId',
        'ignored',
        'objections',
        'patients',
        'rejected',
        'rejectedByReason',
        'rejectedCount',
        'resources',
        'warnings',
      ].sort(),
    );
    expect(res.body).toMatchObject({
      patients: 2,
      resources: 4,
      rejected: [],
      rejectedCount: 0,
      rejectedByReason: {},
      objections: 1,
    });
    expect(res.body.dropped).toEqual({
      resources: 0,
      fields: 0,
      byField: {},
      type1: { patients: 0, resources: 0, heldDeleted: 0 },
    });
    const { rows: patients } = await t.sql.query(
      `SELECT source_id, sex, to_char(birth_date, 'YYYY-MM-DD') AS dob, postcode, ethnicity, practice_ods, extract_id
         FROM patients ORDER BY source_id`,
    );
    expect(patients).toEqual([
      {
        source_id: 'fx-p1',
        sex: 'M',
        dob: '1961-07-14',
        postcode: 'LS6 2QB',
        ethnicity: 'B',
        practice_ods: 'A81001',
        extract_id: res.body.extractId,
      },
      {
        source_id: 'fx-p2',
        sex: 'F',
        dob: '1948-02-29',
        postcode: 'LS11 8DT',
        ethnicity: 'B',
        practice_ods: 'A81001',
        extract_id: res.body.extractId,
      },
    ]);
    const { rows: events } = await t.sql.query(
      `SELECT p.source_id, e.resource_type, e.resource_id, e.code_system, e.code, to_char(e.event_date, 'YYYY-MM-DD') AS d, e.value
         FROM gp_events e JOIN patients p ON p.id = e.patient_id ORDER BY e.resource_id`,
    );
    expect(events).toEqual([
      {
        source_id: 'fx-p1',
        resource_type: 'condition',
        resource_id: 'fx-c1',
        code_system: 'snomed',
        code: '44054006',
        d: '2009-11-02',
        value: null,
      },
      {
        source_id: 'fx-p1',
        resource_type: 'medication',
        resource_id: 'fx-m1',
        code_system: 'readv2',
        code: 'bxd5.',
        d: '2010-01-20',
        value: null,
      },
      {
        source_id: 'fx-p2',
        resource_type: 'observation',
        resource_id: 'fx-o1',
        code_system: 'snomed',
        code: '271649006',
        d: '2012-03-03',
        value: '142 mm[Hg]',
      },
      {
        source_id: 'fx-p2',
        resource_type: 'procedure',
        resource_id: 'fx-pr1',
        code_system: 'snomed',
        code: '73761001',
        d: '2011-04-05',
        value: null,
      },
    ]);
    const { rows: reg } = await t.sql.query(
      `SELECT r.type, r.active, to_char(r.effective_on, 'YYYY-MM-DD') AS eff, e.source, e.source_ref, e.practice_ods
         FROM objection_register r JOIN objection_events e USING (nhs_number, type)`,
    );
    expect(reg).toEqual([
      {
        type: 'type2',
        active: true,
        eff: '2013-09-01',
        source: 'extract',
        source_ref: res.body.extractId,
        practice_ods: 'A81001',
      },
    ]);
    const stored = await t.http.get(`/api/extracts/${res.body.extractId}`).set(a).expect(200);
    expect(stored.body).toEqual(res.body);
    await t.http.get(`/api/extracts/${res.body.extractId}`).set(admin).expect(200);
    await t.http
      .get(`/api/extracts/${res.body.extractId}`)
      .set((await t.as('data_manager')).auth)
      .expect(200);
    const other = await practiceReady(t, admin, 'B82002');
    await t.http.get(`/api/extracts/${res.body.extractId}`).set(other).expect(404);
    await t.http
      .get(`/api/extracts/${res.body.extractId}`)
      .set((await t.as('researcher')).auth)
      .expect(403);
    const jobs = await t.sql.query(`SELECT data FROM pgboss.job WHERE name = 'linkage.relink'`);
    expect(jobs.rows).toEqual([{ data: { extractId: res.body.extractId } }]);
    const audit = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'extract.upload' AND subject_id = $1`,
      [res.body.extractId],
    );
    expect(audit.rows[0].details).toMatchObject({
      practiceOds: 'A81001',
      patients: 2,
      resources: 4,
      rejected: 0,
    });
  });

  it('is idempotent: the same extract again stores nothing new and queues nothing', async () => {
    const before = await counts(t);
    const res = await upload(t, a, 'A81001', fixture('ok/small-practice.ndjson')).expect(201);
    expect(res.body).toMatchObject({ patients: 0, resources: 0, objections: 0, rejected: [] });
    expect(await counts(t)).toEqual(before);
    const jobs = await t.sql.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'linkage.relink'`);
    expect(jobs.rows[0].n).toBe(1);
    const ext = await t.sql.query('SELECT count(*)::int AS n FROM extracts');
    expect(ext.rows[0].n).toBe(2);
  });

  it('rejects every bad line with its 1-based line number and reason, and stores the rest', async () => {
    const r = await practiceReady(t, admin, 'A81002');
    const fx = fixture('not-ok/every-rejection.ndjson')
      .replace(/A81001/g, 'A81002')
      .replace(/"B82002"/g, '"B82002"');
    const expected = JSON.parse(fixture('not-ok/every-rejection.expected.json'));
    const before = await counts(t);
    const res = await upload(t, r, 'A81002', fx).expect(201);
    expect(res.body.rejected).toEqual(expected.rejected);
    // Line 34, recorded in error, is not stored, and not refused either: a warning.
    expect(res.body.warnings).toContainEqual({
      line: 34,
      reason:
        'MedicationStatement: entered-in-error, recorded in error: not stored, and what the centre held under its id is removed',
    });
    expect(res.body.patients).toBe(expected.patients);
    expect(res.body.resources).toBe(expected.resources);
    const after = await counts(t);
    expect(after.patients - before.patients).toBe(expected.patients);
    expect(after.events - before.events).toBe(expected.resources);
    // Reasons never carry patient data.
    expect(JSON.stringify(res.body.rejected)).not.toMatch(/\d{10}|19\d\d-|LS\d/);
  });

  it('rejects an over-long line without holding it, and refuses other content types', async () => {
    const huge = JSON.stringify(patient('big', nhsNumber(600_000_001), { note: 'x'.repeat(1_100_000) }));
    const res = await upload(t, a, 'A81001', `\n${huge}\n`).expect(201);
    expect(res.body.rejected).toEqual([{ line: 2, reason: 'line longer than 1048576 bytes' }]);
    // An over-long line carrying an objection code may be an objection: the whole extract is refused,
    // nothing stored (it was refused alone, and the objector stored and released: a new user's tryout).
    const n = nhsNumber(600_000_002);
    const before = await counts(t);
    const refused = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('obj', n),
        condition('c-obj', 'obj'),
        {
          resourceType: 'Observation',
          id: 'x-obj',
          status: 'final',
          subject: { reference: 'Patient/obj' },
          code: { coding: [{ system: 'http://read.info/readv2', code: '9Nu0' }] },
          effectiveDateTime: '2020-01-01T10:00:00Z',
          note: [{ text: 'x'.repeat(1_100_000) }],
        },
      ]),
    ).expect(422);
    expect(refused.body).toMatchObject({
      code: 'EXTRACT_OBJECTION_UNRESOLVED',
      details: { unresolved: [{ line: 3, reason: expect.stringContaining('may be an objection') }] },
    });
    expect(await counts(t)).toEqual(before);
    // The refusal is on the audit trail: the practice, the lines (numbers only, never values).
    const { rows: refusedTrail } = await t.sql.query(
      `SELECT outcome, subject_id, details FROM audit_log WHERE action = 'extract.refused' ORDER BY id DESC LIMIT 1`,
    );
    expect(refusedTrail).toEqual([
      {
        outcome: 'failure',
        subject_id: 'A81001',
        details: { practiceOds: 'A81001', code: 'EXTRACT_OBJECTION_UNRESOLVED', lines: [3] },
      },
    ]);
    expect(JSON.stringify(refusedTrail)).not.toContain(n);
    const json = await t.http.post('/api/practices/A81001/extracts').set(a).send({ resourceType: 'Patient' });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('takes FHIR Bulk Data’s name for NDJSON too (application/fhir+ndjson), as a FHIR client sends it', async () => {
    const body = JSON.stringify(patient('fhir-nd', nhsNumber(600_000_011)));
    const res = await t.http
      .post('/api/practices/A81001/extracts')
      .set(a)
      .set('Content-Type', 'application/fhir+ndjson; charset=utf-8')
      .send(body)
      .expect(201);
    expect(res.body).toMatchObject({ patients: 1, rejected: [] });
    // UTF-8 only: a body declared in another charset is refused, not read as UTF-8 (a probe).
    const latin = await t.http
      .post('/api/practices/A81001/extracts')
      .set(a)
      .set('Content-Type', 'application/x-ndjson; charset=iso-8859-1')
      .send(body);
    expect(latin.body).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    // Still one format per route: FHIR's JSON (a Bundle) is not NDJSON.
    const bundle = await t.http
      .post('/api/practices/A81001/extracts')
      .set(a)
      .set('Content-Type', 'application/fhir+json')
      .send(body);
    expect(bundle.status).toBe(415);
  });

  it('refuses an empty extract (no body, blank lines only) with a clear error, and records nothing', async () => {
    const extracts = async () =>
      (await t.sql.query(`SELECT count(*)::int AS n FROM extracts WHERE practice_ods = 'A81001'`)).rows[0].n;
    const before = await extracts();
    for (const body of ['', '\n\n  \n', ' ']) {
      const res = await upload(t, a, 'A81001', body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'EXTRACT_EMPTY' });
      expect(res.body.message).toMatch(/no FHIR resources/);
    }
    expect(await extracts()).toBe(before);
  });

  it('refuses a body of which no line is a JSON object (an image, a text file, a spreadsheet) as a whole, and records nothing', async () => {
    const extracts = async () =>
      (await t.sql.query(`SELECT count(*)::int AS n FROM extracts WHERE practice_ods = 'A81001'`)).rows[0].n;
    const before = await extracts();
    // A PNG's first bytes (signature, IHDR chunk, some of IDAT), a CSV, and JSON that is no object.
    const png = Buffer.concat([
      Buffer.from('89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff61', 'hex'),
      Buffer.from('0000001d4944415478da63fcffff3f0325800930c0b4006a0100a11a0f0b2c9d8d0d', 'hex'),
    ]);
    for (const body of [png, 'nhs_number,code\n9434765919,22298006\n', '[1,2]\n"text"\n']) {
      const res = await upload(t, a, 'A81001', body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'EXTRACT_NOT_NDJSON' });
      expect(res.body.message).toMatch(/not FHIR NDJSON/);
    }
    expect(await extracts()).toBe(before);
    // One resource among them: an extract, its bad lines reported line by line as before.
    const res = await upload(
      t,
      a,
      'A81001',
      `x\n${JSON.stringify(patient('nd-1', nhsNumber(943_476_590), {}, 'A81001'))}\n`,
    );
    expect(res.status).toBe(201);
    expect(res.body.rejected).toEqual([{ line: 1, reason: 'malformed JSON' }]);
    expect(await extracts()).toBe(before + 1);
  });

  it('never stores fields outside the extraction specification, and counts them', async () => {
    const M = 'ZQXMARKER';
    const p = patient('mk-p1', nhsNumber(610_000_001), {
      name: [{ family: `${M}family`, given: [`${M}given`] }],
      telecom: [{ system: 'phone', value: `${M}0113` }],
      address: [{ line: [`${M}street`], city: `${M}city`, postalCode: 'LS2 9JT' }],
      identifier: [
        { system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber(610_000_001) },
        { system: 'urn:local', value: `${M}localid` },
      ],
      extension: [
        { url: ETHNIC, valueCodeableConcept: { coding: [{ code: 'C', display: `${M}display` }] } },
        { url: 'urn:religion', valueString: `${M}religion` },
      ],
      text: { status: 'generated', div: `<div>${M}narrative</div>` },
      contact: [{ name: { text: `${M}nok` } }],
    });
    const c = condition('mk-c1', 'mk-p1', {
      note: [{ text: `${M}note` }],
      code: { text: `${M}codetext`, coding: [{ system: SCT, code: '22298006', display: `${M}display` }] },
      subject: { reference: 'Patient/mk-p1', display: `${M}subjectname` },
    });
    const o = observation('mk-o1', 'mk-p1', {
      valueQuantity: undefined,
      valueString: `${M}value`,
      interpretation: { text: M },
    });
    const enc = { resourceType: 'Encounter', id: 'mk-e1', reasonCode: [{ text: `${M}encounter` }] };
    const res = await upload(t, a, 'A81001', ndjson([p, c, o, enc])).expect(201);
    expect(res.body).toMatchObject({ patients: 1, resources: 2, rejected: [] });
    expect(res.body.dropped.resources).toBe(1);
    expect(res.body.dropped.byField).toEqual({
      'address.city': 1,
      'address.line': 1,
      'code.coding.display': 1,
      'code.text': 1,
      contact: 1,
      extension: 1,
      'extension.valueCodeableConcept.coding.display': 1,
      identifier: 1,
      interpretation: 1,
      name: 1,
      note: 1,
      'subject.display': 1,
      telecom: 1,
      text: 1,
      valueString: 1,
    });
    expect(res.body.dropped.fields).toBe(15);
    // Search every row of every table (public and the job queue) for the marker.
    const { rows: tables } = await t.sql.query(
      `SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE'`,
    );
    expect(tables.length).toBeGreaterThan(10);
    for (const { table_schema, table_name } of tables) {
      const hit = await t.sql.query(
        `SELECT count(*)::int AS n FROM "${table_schema}"."${table_name}" x WHERE x::text LIKE '%' || $1 || '%'`,
        [M],
      );
      expect([table_name, hit.rows[0].n]).toEqual([table_name, 0]);
    }
  });

  describe('objections in extracts', () => {
    let seq = 700_000_000;
    const next = () => nhsNumber((seq += 1000));

    it('Type 1 in the first extract: nothing of that patient is stored', async () => {
      const n1 = next();
      const n2 = next();
      const before = await counts(t);
      const res = await upload(
        t,
        a,
        'A81001',
        ndjson([
          patient('t1-a', n1),
          condition('t1-a-c', 't1-a'),
          procedure('t1-a-p', 't1-a'),
          objection('t1-a-obj', 't1-a', '9Nu0', '2014-01-02'),
          patient('t1-b', n2),
          medication('t1-b-m', 't1-b'),
        ]),
      ).expect(201);
      expect(res.body).toMatchObject({ patients: 1, resources: 1, objections: 1, rejected: [] });
      expect(res.body.dropped.type1).toEqual({ patients: 1, resources: 2, heldDeleted: 0 });
      const held = await t.sql.query('SELECT count(*)::int AS n FROM patients WHERE nhs_number = $1', [n1]);
      expect(held.rows[0].n).toBe(0);
      const after = await counts(t);
      expect(after.patients - before.patients).toBe(1);
      expect(after.events - before.events).toBe(1);
      const reg = await t.sql.query('SELECT type, active FROM objection_register WHERE nhs_number = $1', [
        n1,
      ]);
      expect(reg.rows).toEqual([{ type: 'type1', active: true }]);
      const audit = await t.sql.query(
        `SELECT details FROM audit_log WHERE action = 'objection.register_change' AND subject_id = $1`,
        [res.body.extractId],
      );
      expect(audit.rows[0].details).toEqual({
        source: 'extract',
        practiceOds: 'A81001',
        changes: [{ type: 'type1', active: true, n: 1 }],
      });
      expect(JSON.stringify(audit.rows)).not.toContain(n1);
    });

    it.each([
      ['Read v2 9Nu0', '9Nu0'],
      ['SNOMED CT 827241000000103', '827241000000103'],
    ])('Type 1 arriving later (%s, marker only) deletes the GP data held', async (_l, code) => {
      const n = next();
      const id = `later-${code}`;
      await upload(
        t,
        a,
        'A81001',
        ndjson([patient(id, n), condition(`${id}-c`, id), observation(`${id}-o`, id)]),
      ).expect(201);
      const held = await t.sql.query(
        'SELECT count(*)::int AS n FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE p.nhs_number = $1',
        [n],
      );
      expect(held.rows[0].n).toBe(2);
      // The extractor's marker: a Patient with only its NHS number, and the objection entry.
      const marker = {
        resourceType: 'Patient',
        id,
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: n }],
      };
      const res = await upload(
        t,
        a,
        'A81001',
        ndjson([marker, objection(`${id}-obj`, id, code, '2016-05-05')]),
      ).expect(201);
      expect(res.body).toMatchObject({ patients: 0, resources: 0, objections: 1, rejected: [] });
      expect(res.body.dropped.type1).toEqual({ patients: 1, resources: 0, heldDeleted: 1 });
      const gone = await t.sql.query(
        `SELECT (SELECT count(*) FROM patients WHERE nhs_number = $1)::int AS p,
                (SELECT count(*) FROM gp_events WHERE resource_id LIKE $2)::int AS e`,
        [n, `${id}-%`],
      );
      expect(gone.rows[0]).toEqual({ p: 0, e: 0 });
    });

    it('the audit chain is not held through the merge: a sign-in completes while a merge with an objection change waits', async () => {
      const n1 = next();
      const user = await t.as('researcher');
      // Hold the merge at its events insert (after its objection change) with a table lock.
      const blocker = await t.db.superuser();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE gp_events IN SHARE MODE');
      const pending = upload(
        t,
        a,
        'A81001',
        ndjson([
          patient('audit-lock-p', n1),
          condition('audit-lock-c', 'audit-lock-p'),
          objection('audit-lock-o', 'audit-lock-p', '9Nu4', '2014-01-02'),
        ]),
      ).then((r) => r);
      try {
        // Wait until the merge is blocked on the table lock.
        for (let i = 0; i < 100; i++) {
          const { rows } = await t.sql.query(
            `SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'gp_events'::regclass AND NOT granted`,
          );
          if (rows[0].n > 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const signIn = t.http
          .post('/api/auth/login')
          .send({ email: user.user.email, password: TEST_PASSWORD });
        const first = await Promise.race([
          signIn.then((r) => r.status),
          new Promise((r) => setTimeout(() => r('still waiting after 3 s'), 3000)),
        ]);
        expect(first).toBe(200);
      } finally {
        await blocker.query('COMMIT');
        await blocker.end();
      }
      const res = await pending;
      expect(res.status).toBe(201);
      const audit = await t.sql.query(
        `SELECT count(*)::int AS n FROM audit_log WHERE action = 'objection.register_change' AND subject_id = $1`,
        [res.body.extractId],
      );
      expect(audit.rows[0].n).toBe(1);
    });

    it('a Type 1 withdrawal dated later lets the patient be stored again', async () => {
      const n = next();
      await upload(
        t,
        a,
        'A81001',
        ndjson([patient('wd', n), objection('wd-1', 'wd', '9Nu0', '2015-01-01')]),
      ).expect(201);
      const res = await upload(
        t,
        a,
        'A81001',
        ndjson([
          patient('wd', n),
          condition('wd-c', 'wd'),
          objection('wd-1', 'wd', '9Nu0', '2015-01-01'),
          objection('wd-2', 'wd', '9Nu1', '2016-01-01'),
        ]),
      ).expect(201);
      expect(res.body).toMatchObject({ patients: 1, resources: 1, objections: 1 });
      const reg = await t.sql.query('SELECT active FROM objection_register WHERE nhs_number = $1', [n]);
      expect(reg.rows).toEqual([{ active: false }]);
    });

    it('Type 2 registered, withdrawn, re-registered: register state and history follow, data stays', async () => {
      const n = next();
      const step = async (extra: object[]) =>
        (
          await upload(t, a, 'A81001', ndjson([patient('t2', n), condition('t2-c', 't2'), ...extra])).expect(
            201,
          )
        ).body;
      const e1 = await step([objection('t2-1', 't2', '9Nu4', '2012-01-01')]);
      const state = async () =>
        (
          await t.sql.query(
            `SELECT active, to_char(effective_on, 'YYYY-MM-DD') AS eff FROM objection_register WHERE nhs_number = $1 AND type = 'type2'`,
            [n],
          )
        ).rows[0];
      const asOf = async () =>
        (
          await t.sql.query(
            `SELECT count(*)::int AS n FROM objections_as_of(now()) WHERE nhs_number = $1 AND type = 'type2'`,
            [n],
          )
        ).rows[0].n;
      expect(await state()).toEqual({ active: true, eff: '2012-01-01' });
      expect(await asOf()).toBe(1);
      const e2 = await step([
        objection('t2-1', 't2', '9Nu4', '2012-01-01'),
        objection('t2-2', 't2', '9Nu5', '2013-01-01'),
      ]);
      expect(await state()).toEqual({ active: false, eff: '2013-01-01' });
      expect(await asOf()).toBe(0);
      // An older entry arriving late changes nothing: the latest date wins. (The extract is the
      // practice's full record of the patient: one that no longer carries the 2013 withdrawal would
      // retract it, test/review18-extractor-centre.e2e-spec.ts.)
      await step([
        objection('t2-0', 't2', '9Nu4', '2011-06-01'),
        objection('t2-1', 't2', '9Nu4', '2012-01-01'),
        objection('t2-2', 't2', '9Nu5', '2013-01-01'),
      ]);
      expect(await state()).toEqual({ active: false, eff: '2013-01-01' });
      const e3 = await step([objection('t2-3', 't2', '9Nu4', '2014-01-01')]);
      expect(await state()).toEqual({ active: true, eff: '2014-01-01' });
      expect(await asOf()).toBe(1);
      const { rows: history } = await t.sql.query(
        `SELECT action, to_char(effective_on, 'YYYY-MM-DD') AS eff, source, source_ref FROM objection_events
          WHERE nhs_number = $1 ORDER BY effective_on`,
        [n],
      );
      expect(history.map((h) => [h.action, h.eff, h.source])).toEqual([
        ['register', '2011-06-01', 'extract'],
        ['register', '2012-01-01', 'extract'],
        ['withdraw', '2013-01-01', 'extract'],
        ['register', '2014-01-01', 'extract'],
      ]);
      expect(history.find((h) => h.eff === '2012-01-01')!.source_ref).toBe(e1.extractId);
      expect(history.find((h) => h.eff === '2013-01-01')!.source_ref).toBe(e2.extractId);
      expect(history.find((h) => h.eff === '2014-01-01')!.source_ref).toBe(e3.extractId);
      const p = await t.sql.query('SELECT count(*)::int AS n FROM patients WHERE nhs_number = $1', [n]);
      expect(p.rows[0].n).toBe(1);
    });

    // SPEC §2: the latest instant decides; date-only entries are 00:00:00 UTC, so two entries of one
    // date are an exact tie, and the objection beats the withdrawal whichever line comes later
    // (docs/PRACTICES-AND-EXTRACTS.md). More in extracts-objections.e2e-spec.ts.
    it('of two entries with the same date, the objection decides (an exact tie), whichever line is later', async () => {
      const [x, y] = [next(), next()];
      await upload(
        t,
        a,
        'A81001',
        ndjson([
          patient('tie-x', x),
          objection('tie-x1', 'tie-x', '9Nu4', '2019-01-01'),
          objection('tie-x2', 'tie-x', '9Nu5', '2019-01-01'),
          patient('tie-y', y),
          objection('tie-y1', 'tie-y', '9Nu5', '2019-01-01'),
          objection('tie-y2', 'tie-y', '9Nu4', '2019-01-01'),
        ]),
      ).expect(201);
      const { rows } = await t.sql.query(
        'SELECT nhs_number, active FROM objection_register WHERE nhs_number = ANY($1)',
        [[x, y]],
      );
      expect(Object.fromEntries(rows.map((r) => [r.nhs_number, r.active]))).toEqual({
        [x]: true,
        [y]: true,
      });
    });

    it('a clinical entry may refer to a patient held from an earlier extract', async () => {
      const res = await upload(
        t,
        a,
        'A81001',
        ndjson([condition('late-c', 'fx-p1', { onsetDateTime: '2020-02-02' })]),
      ).expect(201);
      expect(res.body).toMatchObject({ resources: 1, rejected: [] });
    });
  });

  describe('events: the last line of a resource wins, per practice', () => {
    const eventsOf = async (nhs: string) =>
      (
        await t.sql.query(
          `SELECT g.resource_id AS id, g.code, g.event_date::text AS date, p.practice_ods AS ods
             FROM gp_events g JOIN patients p ON p.id = g.patient_id WHERE p.nhs_number = $1 ORDER BY 1`,
          [nhs],
        )
      ).rows;

    it("a practice's first extract (plain insert), then its second (merge): one row per resource, the last line", async () => {
      const b = await practiceReady(t, admin, 'B81001');
      const n = nhsNumber(700_000_001);
      const first = await upload(
        t,
        b,
        'B81001',
        ndjson([
          patient('ev-p', n, {}, 'B81001'),
          condition('ev-c1', 'ev-p', { code: { coding: [{ system: SCT, code: '111111' }] } }),
          condition('ev-c2', 'ev-p'),
          condition('ev-c1', 'ev-p', { code: { coding: [{ system: SCT, code: '222222' }] } }),
        ]),
      ).expect(201);
      expect(first.body).toMatchObject({ patients: 1, resources: 2, rejected: [] });
      expect(await eventsOf(n)).toEqual([
        { id: 'ev-c1', code: '222222', date: '2012-05-01', ods: 'B81001' },
        { id: 'ev-c2', code: '22298006', date: '2012-05-01', ods: 'B81001' },
      ]);
      const second = await upload(
        t,
        b,
        'B81001',
        ndjson([
          patient('ev-p', n, {}, 'B81001'),
          condition('ev-c1', 'ev-p', { code: { coding: [{ system: SCT, code: '333333' }] } }),
          condition('ev-c2', 'ev-p'),
          condition('ev-c3', 'ev-p', { onsetDateTime: '2015-01-01' }),
        ]),
      ).expect(201);
      // c1 changed, c3 new, c2 unchanged (not written).
      expect(second.body).toMatchObject({ patients: 0, resources: 2, rejected: [] });
      expect(await eventsOf(n)).toEqual([
        { id: 'ev-c1', code: '333333', date: '2012-05-01', ods: 'B81001' },
        { id: 'ev-c2', code: '22298006', date: '2012-05-01', ods: 'B81001' },
        { id: 'ev-c3', code: '22298006', date: '2015-01-01', ods: 'B81001' },
      ]);
    });

    it('two practices send their first extracts, with the same new patient and resources, at once: both stored, each resource once per practice', async () => {
      for (let round = 0; round < 4; round++) {
        const [x, y] = [`C8100${round}`, `D8100${round}`];
        const [ax, ay] = [await practiceReady(t, admin, x), await practiceReady(t, admin, y)];
        const n = nhsNumber(710_000_001 + round);
        const lines = (ods: string, code: string) =>
          ndjson([
            patient(`race-p${round}`, n, {}, ods),
            ...Array.from({ length: 40 }, (_, i) =>
              condition(`race-${round}-${i}`, `race-p${round}`, {
                code: { coding: [{ system: SCT, code }] },
              }),
            ),
          ]);
        const [rx, ry] = await Promise.all([
          upload(t, ax, x, lines(x, '444444')),
          upload(t, ay, y, lines(y, '555555')),
        ]);
        expect([rx.status, ry.status]).toEqual([201, 201]);
        const rows = await t.sql.query(
          `SELECT g.practice_ods AS ods, g.resource_id AS id, g.code FROM gp_events g JOIN patients p ON p.id = g.patient_id
            WHERE p.nhs_number = $1 ORDER BY 1, 2`,
          [n],
        );
        // Forty resources of each practice (registrations per practice: SPEC §2), once each.
        const ids = Array.from({ length: 40 }, (_, i) => `race-${round}-${i}`).sort();
        for (const [ods, code] of [
          [x, '444444'],
          [y, '555555'],
        ]) {
          const mine = rows.rows.filter((r) => r.ods === ods);
          expect(mine.map((r) => r.id)).toEqual(ids);
          expect(new Set(mine.map((r) => r.code))).toEqual(new Set([code]));
        }
        // One patient, two registrations; the current practice is the latest registration's.
        const { rows: cur } = await t.sql.query(
          `SELECT p.practice_ods AS current,
                  (SELECT r.practice_ods FROM patient_registrations r WHERE r.patient_id = p.id
                    ORDER BY r.received_at DESC LIMIT 1) AS latest,
                  (SELECT count(*)::int FROM patient_registrations r WHERE r.patient_id = p.id) AS regs
             FROM patients p WHERE p.nhs_number = $1`,
          [n],
        );
        expect(cur).toHaveLength(1);
        expect(cur[0].regs).toBe(2);
        expect(cur[0].current).toBe(cur[0].latest);
      }
    });
  });
});
