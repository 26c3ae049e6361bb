import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { runExtractor } from '@custodian/practices';
import { createTestApp, TestApp } from '@custodian/testing';
import {
  condition,
  medication,
  NHS,
  ndjson,
  nhsNumber,
  observation,
  patient,
  READ,
  SCT,
} from './support/fhir';
import { counts, practiceReady, upload } from './support/practice';

/**
 * Issue #28 / #19, the centre's re-check: an objection in any valid FHIR encoding is applied, an
 * odd date is a warning (never a reason to store the objector), and an objection that names no
 * patient refuses the upload — nothing stored.
 */
describe('extract intake: objections in any valid FHIR form (#28)', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 930_000;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const record = (id: string, n: string) => [
    patient(id, n),
    condition(`${id}-c`, id),
    medication(`${id}-m`, id),
    observation(`${id}-o`, id),
  ];
  const t1 = (id: string, subject: object, o: Record<string, unknown> = {}) => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    subject,
    code: { coding: [{ system: READ, code: '9Nu0' }] },
    effectiveDateTime: '2020-01-01T10:00:00Z',
    ...o,
  });
  const stored = async (n: string) =>
    (
      await t.sql.query(
        `SELECT (SELECT count(*)::int FROM patients WHERE nhs_number = $1) AS patients,
                (SELECT count(*)::int FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE p.nhs_number = $1) AS events,
                (SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type1') AS type1`,
        [n],
      )
    ).rows[0] as { patients: number; events: number; type1: boolean | null };

  /** A local date one day after today's UTC date whose instant is in the past (when the clock allows). */
  function localTomorrow(): string {
    const now = Date.now() - 60_000;
    const u = new Date(now);
    const midnight = Date.UTC(u.getUTCFullYear(), u.getUTCMonth(), u.getUTCDate() + 1);
    const offset = Math.min(14 * 60, Math.max(Math.ceil((midnight - now) / 60_000), 1));
    const pad = (x: number) => String(x).padStart(2, '0');
    return `${new Date(now + offset * 60_000).toISOString().slice(0, 19)}+${pad(Math.floor(offset / 60))}:${pad(offset % 60)}`;
  }

  it.each([
    ['a versioned reference', (_n: string) => ({ reference: 'Patient/P/_history/3' }), {}, undefined],
    [
      'an absolute reference',
      () => ({ reference: 'https://gp.example.nhs.uk/fhir/Patient/P' }),
      {},
      undefined,
    ],
    [
      'an NHS-number identifier only',
      (n: string) => ({ identifier: { system: NHS, value: n } }),
      {},
      undefined,
    ],
    [
      'the objection code second',
      () => ({ reference: 'Patient/P' }),
      {
        code: {
          coding: [
            { system: SCT, code: '123456789' },
            { system: SCT, code: '827241000000103' },
          ],
        },
      },
      undefined,
    ],
    [
      'effectivePeriod',
      () => ({ reference: 'Patient/P' }),
      { effectiveDateTime: undefined, effectivePeriod: { start: '2020-01-01T10:00:00Z' } },
      /effectivePeriod: period, its start used/,
    ],
    [
      'no date',
      () => ({ reference: 'Patient/P' }),
      { effectiveDateTime: undefined },
      /date missing, time received used/,
    ],
    [
      'a garbage date',
      () => ({ reference: 'Patient/P' }),
      { effectiveDateTime: 'yesterday' },
      /invalid date, time received used/,
    ],
    [
      'a local date that is tomorrow in UTC',
      () => ({ reference: 'Patient/P' }),
      { effectiveDateTime: localTomorrow() },
      undefined,
    ],
  ])(
    'a Type 1 objection with %s: the objector is not stored, the objection is',
    async (_w, subject, o, warning) => {
      const n = nhsNumber(seed++);
      const id = `p${seed}`;
      const s = JSON.parse(JSON.stringify(subject(n)).replace(/Patient\/P/, `Patient/${id}`)) as object;
      const res = await upload(t, a, 'A81001', ndjson([...record(id, n), t1(`${id}-t1`, s, o)])).expect(201);
      expect(res.body.rejected).toEqual([]);
      expect(res.body.dropped.type1).toMatchObject({ patients: 1, resources: 3 });
      expect(await stored(n)).toEqual({ patients: 0, events: 0, type1: true });
      if (warning) expect(res.body.warnings).toEqual([{ line: 5, reason: expect.stringMatching(warning) }]);
    },
  );

  it('an objection by NHS number deletes what the centre held for that patient', async () => {
    const n = nhsNumber(seed++);
    await upload(t, a, 'A81001', ndjson(record('held', n))).expect(201);
    expect((await stored(n)).events).toBe(3);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([t1('held-t1', { identifier: { system: NHS, value: n } }, { effectiveDateTime: undefined })]),
    ).expect(201);
    expect(res.body.dropped.type1).toMatchObject({ heldDeleted: 1 });
    expect(await stored(n)).toEqual({ patients: 0, events: 0, type1: true });
  });

  it('one NHS-number normaliser: a spaced number on the Patient, as on an objection subject, is the same patient (never lost to spacing)', async () => {
    const n = nhsNumber(seed++);
    const spaced = `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;
    const m = nhsNumber(seed++);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        // A Type 1 objection on a Patient whose identifier is spaced: the objection applies (fail closed).
        patient('spaced-t1', spaced),
        condition('spaced-t1-c', 'spaced-t1'),
        t1('spaced-t1-o', { reference: 'Patient/spaced-t1' }),
        // A spaced Patient without an objection: stored under its ten digits, as its subject reads it.
        patient('spaced', `${m.slice(0, 3)}-${m.slice(3, 6)}-${m.slice(6)}`),
        condition('spaced-c', 'spaced'),
      ]),
    ).expect(201);
    expect(res.body.rejected).toEqual([]);
    expect(await stored(n)).toEqual({ patients: 0, events: 0, type1: true });
    expect(await stored(m)).toEqual({ patients: 1, events: 1, type1: null });
  });

  it('an objection that names no patient refuses the upload, nothing stored (#19 fail closed)', async () => {
    const n = nhsNumber(seed++);
    const before = await counts(t);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([...record('anon', n), t1('anon-t1', { reference: 'Group/everyone' })]),
    ).expect(422);
    expect(res.body).toMatchObject({
      code: 'EXTRACT_OBJECTION_UNRESOLVED',
      details: {
        unresolved: [{ line: 5, reason: 'Observation.subject: an objection that names no patient' }],
      },
    });
    expect(JSON.stringify(res.body)).not.toContain(n);
    expect(await counts(t)).toEqual(before);
  });

  it('a byte order mark before the first line is read past: the Type 1 objection on that line is applied (an outsider found the objector stored)', async () => {
    const n = nhsNumber(seed++);
    const body = '\ufeff' + ndjson([t1('bom-t1', { reference: 'Patient/bom' }), ...record('bom', n)]);
    const res = await upload(t, a, 'A81001', body).expect(201);
    expect(res.body.rejected).toEqual([]);
    expect(res.body.objections).toBe(1);
    expect(await stored(n)).toEqual({ patients: 0, events: 0, type1: true });
  });

  // An objection code the reader does not recognise (an outsider's probe): each was refused or
  // dropped as an ordinary line and the objector stored. Now the whole upload is refused.
  it.each([
    [
      'a system URI with a trailing slash',
      (o: object) => ({ ...o, code: { coding: [{ system: `${READ}/`, code: '9Nu0' }] } }),
    ],
    [
      'a system URI in another case',
      (o: object) => ({ ...o, code: { coding: [{ system: 'http://read.info/ReadV2', code: '9Nu0' }] } }),
    ],
    ['the code as a plain string', (o: object) => ({ ...o, code: '9Nu0' })],
    ['a lower-case resource type', (o: object) => ({ ...o, resourceType: 'observation' })],
    ['a Flag', (o: object) => ({ ...o, resourceType: 'Flag' })],
    ['a Consent', (o: object) => ({ ...o, resourceType: 'Consent' })],
    ['a QuestionnaireResponse', (o: object) => ({ ...o, resourceType: 'QuestionnaireResponse' })],
    [
      'a MedicationStatement (stored as a medication before)',
      (o: object) => ({
        ...o,
        resourceType: 'MedicationStatement',
        medicationCodeableConcept: { coding: [{ system: READ, code: '9Nu0' }] },
        code: undefined,
      }),
    ],
    [
      'the SNOMED CT code in a Flag',
      (o: object) => ({
        ...o,
        resourceType: 'Flag',
        code: { coding: [{ system: SCT, code: '827241000000103' }] },
      }),
    ],
    [
      'a withdrawal code in a Flag',
      (o: object) => ({ ...o, resourceType: 'Flag', code: { coding: [{ system: READ, code: '9Nu5' }] } }),
    ],
    [
      'the code written with JSON escapes in a Flag',
      (o: object) => ({ ...o, resourceType: 'Flag', code: { coding: [{ system: READ, code: 'ESCAPED' }] } }),
    ],
  ])(
    'an objection code in a form the centre cannot read refuses the upload, nothing stored: %s',
    async (_, form) => {
      const n = nhsNumber(seed++);
      const before = await counts(t);
      const line = JSON.stringify(form(t1('odd-t1', { reference: 'Patient/odd' }))).replace(
        'ESCAPED',
        '\\u0039Nu0',
      );
      const body = ndjson(record('odd', n)) + line + '\n';
      const res = await upload(t, a, 'A81001', body).expect(422);
      expect(res.body).toMatchObject({
        code: 'EXTRACT_OBJECTION_UNRESOLVED',
        details: {
          unresolved: [
            { line: 5, reason: expect.stringMatching(/objection code in a form the centre cannot read/) },
          ],
        },
      });
      expect(JSON.stringify(res.body)).not.toContain(n);
      expect(await counts(t)).toEqual(before);
      expect(await stored(n)).toEqual({ patients: 0, events: 0, type1: null });
    },
  );

  it('a line that is no JSON but carries an objection code refuses the upload (a broken objection is not dropped as malformed)', async () => {
    const n = nhsNumber(seed++);
    const line = JSON.stringify(t1('broken-t1', { reference: 'Patient/broken' })).slice(0, -1);
    const res = await upload(t, a, 'A81001', ndjson(record('broken', n)) + line + '\n').expect(422);
    expect(res.body.code).toBe('EXTRACT_OBJECTION_UNRESOLVED');
    expect(await stored(n)).toEqual({ patients: 0, events: 0, type1: null });
  });

  it("the extractor's output for an objector named only by NHS number is applied by the centre", async () => {
    const n = nhsNumber(seed++);
    const m = nhsNumber(seed++);
    const dir = mkdtempSync(path.join(tmpdir(), 'intake-objections-'));
    const input = path.join(dir, 'export.ndjson');
    const output = path.join(dir, 'extract.ndjson');
    writeFileSync(
      input,
      ndjson([
        ...record('x1', n),
        ...record('x2', n), // a duplicate record of the same person
        ...record('ok', m),
        t1('x-t1', { identifier: { system: NHS, value: n } }, { effectivePeriod: { start: '2020-02-02' } }),
      ]),
    );
    await runExtractor({ practiceOds: 'A81001', input, output });
    const res = await upload(t, a, 'A81001', readFileSync(output, 'utf8')).expect(201);
    expect(res.body.rejected).toEqual([]);
    expect(await stored(n)).toEqual({ patients: 0, events: 0, type1: true });
    expect(await stored(m)).toEqual({ patients: 1, events: 3, type1: null });
  });

  it('property: whatever the encoding, what the extractor sends leaves no objector stored at the centre, and everyone else stored', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'intake-objections-prop-'));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            ref: fc.constantFrom('plain', 'versioned', 'absolute', 'identifier', 'both'),
            date: fc.constantFrom('dateTime', 'offset', 'period', 'missing', 'date', 'garbage'),
            codeSecond: fc.boolean(),
            duplicate: fc.boolean(),
            onDuplicate: fc.boolean(),
            heldBefore: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        async (objectors) => {
          run++;
          const resources: unknown[] = [];
          const held: unknown[] = [];
          const secret: string[] = [];
          const other = nhsNumber(seed++);
          resources.push(...record(`r${run}-ok`, other));
          objectors.forEach((v, i) => {
            const n = nhsNumber(seed++);
            const id = `r${run}-x${i}`;
            secret.push(n);
            if (v.heldBefore) held.push(...record(id, n));
            resources.push(...record(id, n));
            if (v.duplicate) resources.push(...record(`${id}d`, n));
            const target = v.duplicate && v.onDuplicate ? `${id}d` : id;
            const subject = {
              plain: { reference: `Patient/${target}` },
              versioned: { reference: `Patient/${target}/_history/2` },
              absolute: { reference: `https://gp.example/fhir/Patient/${target}` },
              identifier: { identifier: { system: NHS, value: n } },
              both: { reference: `Patient/${target}`, identifier: { system: NHS, value: n } },
            }[v.ref];
            const date = {
              dateTime: { effectiveDateTime: '2022-03-04T05:06:07Z' },
              offset: { effectiveDateTime: '2022-03-05T00:30:00+14:00' },
              period: { effectiveDateTime: undefined, effectivePeriod: { start: '2022-03-04T05:06:07Z' } },
              missing: { effectiveDateTime: undefined },
              date: { effectiveDateTime: '2022-03-04' },
              garbage: { effectiveDateTime: 'soon' },
            }[v.date];
            const coding = v.codeSecond
              ? [
                  { system: SCT, code: '123456789' },
                  { system: READ, code: '9Nu0' },
                ]
              : [{ system: SCT, code: '827241000000103' }];
            resources.push(t1(`${id}-t1`, subject, { ...date, code: { coding } }));
          });
          if (held.length) await upload(t, a, 'A81001', ndjson(held)).expect(201);
          const input = path.join(dir, `export-${run}.ndjson`);
          const output = path.join(dir, `extract-${run}.ndjson`);
          writeFileSync(input, ndjson(resources));
          await runExtractor({ practiceOds: 'A81001', input, output });
          await upload(t, a, 'A81001', readFileSync(output, 'utf8')).expect(201);
          for (const n of secret) expect(await stored(n)).toEqual({ patients: 0, events: 0, type1: true });
          expect(await stored(other)).toMatchObject({ patients: 1, events: 3 });
        },
      ),
      { numRuns: 15 },
    );
  });

  // Of two Patient lines with one NHS number the later is stored and the earlier refused, but every
  // subject is resolved against both first: an objection naming the earlier record by reference only
  // applies to the NHS number (SPEC §2: duplicate records are one patient, an objection on either applies).
  it('duplicate Patient records, objection on the earlier one by reference only: applies to the NHS number', async () => {
    const n = nhsNumber(seed++);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('dup1', n),
        patient('dup2', n),
        condition('dup2-c', 'dup2'),
        t1('dup-t1', { reference: 'Patient/dup1' }),
      ]),
    ).expect(201);
    expect(await stored(n)).toEqual({ patients: 0, events: 0, type1: true });
    expect(res.body).toMatchObject({ objections: 1, rejected: [{ line: 1 }] });
  });

  it('duplicate Patient records: a clinical entry of the earlier record is stored for the NHS number', async () => {
    const n = nhsNumber(seed++);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('dupa', n),
        condition('dupa-c', 'dupa'),
        patient('dupb', n),
        condition('dupb-c', 'dupb'),
      ]),
    ).expect(201);
    expect(res.body).toMatchObject({ patients: 1, resources: 2, rejected: [{ line: 1 }] });
    expect(await stored(n)).toEqual({ patients: 1, events: 2, type1: null });
  });

  /**
   * Issue #19 "Time, not day": objection entries keep their instant (UTC, to the second), and per
   * NHS number and type the latest instant decides across practices, extracts and the API, however
   * late an entry arrives; on an exact tie the objection beats the withdrawal (SPEC §2).
   */
  describe('the latest instant decides, not the day or the arrival', () => {
    const t2 = (id: string, subject: string, code: '9Nu4' | '9Nu5', at: string) => ({
      resourceType: 'Observation',
      id,
      status: 'final',
      subject: { reference: `Patient/${subject}` },
      code: { coding: [{ system: READ, code }] },
      effectiveDateTime: at,
    });
    const type2 = async (n: string) =>
      (
        await t.sql.query(`SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'`, [
          n,
        ])
      ).rows[0]?.active as boolean | undefined;

    it('a 09:00 withdrawal from another practice, uploaded later, does not beat a 15:00 objection of the same day', async () => {
      const n = nhsNumber(seed++);
      // B is the patient's current practice from before A's objection is recorded, and stays so (else
      // it may not withdraw A's objection at all): A's extract names the patient by NHS number only.
      await upload(t, b, 'B82002', ndjson([patient('day-b', n, {}, 'B82002')])).expect(201);
      await upload(
        t,
        a,
        'A81001',
        ndjson([
          {
            ...t2('day-a-o', 'day-a', '9Nu4', '2021-03-04T15:00:00Z'),
            subject: { identifier: { system: NHS, value: n } },
          },
        ]),
      ).expect(201);
      expect(await type2(n)).toBe(true);
      await upload(
        t,
        b,
        'B82002',
        ndjson([patient('day-b', n, {}, 'B82002'), t2('day-b-w', 'day-b', '9Nu5', '2021-03-04T09:00:00Z')]),
      ).expect(201);
      expect(await type2(n)).toBe(true);
      // A withdrawal later that day, by instant, decides.
      await upload(
        t,
        b,
        'B82002',
        ndjson([patient('day-b', n, {}, 'B82002'), t2('day-b-w2', 'day-b', '9Nu5', '2021-03-04T15:00:01Z')]),
      ).expect(201);
      expect(await type2(n)).toBe(false);
    });

    it('in one extract: the later instant decides, not the later line (offsets applied)', async () => {
      const n = nhsNumber(seed++);
      await upload(
        t,
        a,
        'A81001',
        ndjson([
          patient('one', n),
          t2('one-o', 'one', '9Nu4', '2021-03-04T15:00:00+01:00'), // 14:00Z
          t2('one-w', 'one', '9Nu5', '2021-03-04T09:00:00Z'),
        ]),
      ).expect(201);
      expect(await type2(n)).toBe(true);
    });

    it('an exact tie: the objection beats the withdrawal, in one extract and across extracts', async () => {
      const [x, y] = [nhsNumber(seed++), nhsNumber(seed++)];
      await upload(
        t,
        a,
        'A81001',
        ndjson([
          patient('tie-x', x),
          t2('tie-x-o', 'tie-x', '9Nu4', '2021-05-06T10:00:00Z'),
          t2('tie-x-w', 'tie-x', '9Nu5', '2021-05-06T11:00:00+01:00'),
          patient('tie-y', y),
          t2('tie-y-o', 'tie-y', '9Nu4', '2021-05-06T10:00:00Z'),
        ]),
      ).expect(201);
      expect(await type2(x)).toBe(true);
      await upload(
        t,
        b,
        'B82002',
        ndjson([
          patient('tie-y-b', y, {}, 'B82002'),
          t2('tie-y-w', 'tie-y-b', '9Nu5', '2021-05-06T10:00:00Z'),
        ]),
      ).expect(201);
      expect(await type2(y)).toBe(true);
      // Date-only entries are 00:00:00 UTC: a tie too.
      const z = nhsNumber(seed++);
      await upload(
        t,
        a,
        'A81001',
        ndjson([
          patient('tie-z', z),
          t2('tie-z-o', 'tie-z', '9Nu4', '2019-01-01'),
          t2('tie-z-w', 'tie-z', '9Nu5', '2019-01-01'),
        ]),
      ).expect(201);
      expect(await type2(z)).toBe(true);
    });

    it("an API objection counts from the time received: an extract's earlier withdrawal of that day, uploaded after it, does not release the patient", async () => {
      const n = nhsNumber(seed++);
      await t.http
        .post('/api/objections')
        .set(a)
        .send({ nhsNumber: n, type: 'type2', action: 'register' })
        .expect(201);
      const [{ at }] = (
        await t.sql.query(
          `SELECT to_char(greatest(date_trunc('day', now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC') - interval '1 minute'),
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at`,
        )
      ).rows as { at: string }[];
      await upload(t, a, 'A81001', ndjson([patient('api-w', n), t2('api-w-w', 'api-w', '9Nu5', at)])).expect(
        201,
      );
      expect(await type2(n)).toBe(true);
      // The release's view of the register agrees.
      const { rows } = await t.sql.query(
        `SELECT count(*)::int AS n FROM objections_as_of(now()) WHERE nhs_number = $1 AND type = 'type2'`,
        [n],
      );
      expect(rows[0].n).toBe(1);
    });
  });
});
