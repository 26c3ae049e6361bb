import { readObjection } from '../libs/practices/src/objection-entry';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { nextSecond, practiceReady, upload } from './support/practice';
import { extractorRun } from './support/extractor-run';

/**
 * Review 16: the extractor rewrites the date of an objection entry (r4-required.ts mendObjection)
 * and prunes empty values (completeForR4). The centre must read the line the extractor writes as the
 * extractor read the line it was given. Here: the centre's reading (readObjection on the written
 * line, at a later time received) against the practice's reading of the original line.
 */
const obs = (id: string, subject: string, codes: string[], o: Record<string, unknown>) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject: { reference: `Patient/${subject}` },
  code: { coding: codes.map((code) => ({ system: READ, code })) },
  ...o,
});

const extract = extractorRun('review16-');
/** What the centre does with a line, received a minute after the extractor ran. */
const centre = (line: Record<string, unknown>) =>
  readObjection(line, new Date(Date.now() + 60_000).toISOString().slice(0, 19) + 'Z');
const practice = (line: Record<string, unknown>) =>
  readObjection(line, new Date().toISOString().slice(0, 19) + 'Z');
const actions = (o: ReturnType<typeof readObjection>) =>
  o.kind === 'objection' ? o.entries.map((e) => `${e.type}:${e.action}`).sort() : [o.kind];

describe("review-16: the centre reads the extractor's rewritten objection lines as the extractor did", () => {
  // A mixed entry (Type 2 registered, Type 1 withdrawn) dated by a time without offset, in summer:
  // the practice reads the registration at 10:00:00Z, the withdrawal at 09:00:00Z (England), so it
  // drops the withdrawal. The date is not R4 (no offset): mendObjection writes the registration's
  // instant '2020-05-03T10:00:00Z' and keeps both codes — the centre then reads both at one instant
  // and KEEPS the Type 1 withdrawal the practice dropped.
  it('F1a: a mixed entry whose no-offset time is rewritten keeps its withdrawal dropped', async () => {
    const mixed = obs('m1', 'p1', ['9Nu4', '9Nu1'], { effectiveDateTime: '2020-05-03T10:00:00' });
    expect(actions(practice(mixed))).toEqual(['type2:register']);
    const { lines } = await extract([patient('p1', nhsNumber(916_001)), condition('p1-c', 'p1'), mixed]);
    const written = lines.find((l) => l.id === 'm1')!;
    expect(actions(centre(written))).toEqual(['type2:register']);
  });

  // The same with an unreadable date: the practice reads the registration at the time received and
  // refuses the withdrawal; the extractor writes the practice's time received as the date (the
  // warning ends '(not applied)', not TIME_RECEIVED) — the centre reads a Type 1 withdrawal at the
  // time of extraction, later than every Type 1 objection the register holds.
  it('F1b: a mixed entry with an unreadable date does not become a withdrawal at the time of extraction', async () => {
    const mixed = obs('m2', 'p2', ['9Nu4', '9Nu1'], { effectiveDateTime: 'unknown' });
    expect(actions(practice(mixed))).toEqual(['type2:register']);
    const { lines } = await extract([patient('p2', nhsNumber(916_002)), condition('p2-c', 'p2'), mixed]);
    // Read at the time received, it leaves without a date under an id made from its own (review-22).
    const written = lines.find((l) => l.resourceType === 'Observation')!;
    expect(actions(centre(written))).toEqual(['type2:register']);
  });

  // Two date elements, both dates (R4-valid each, but two): rewritten to the registration's latest.
  it('F1c: a mixed entry with two date elements keeps its withdrawal dropped', async () => {
    const mixed = obs('m3', 'p3', ['9Nu4', '9Nu1'], {
      effectiveDateTime: '2020-05-03',
      effectivePeriod: { start: '2020-05-03' },
    });
    expect(actions(practice(mixed))).toEqual(['type2:register']);
    const { lines } = await extract([patient('p3', nhsNumber(916_003)), condition('p3-c', 'p3'), mixed]);
    const written = lines.find((l) => l.id === 'm3')!;
    expect(actions(centre(written))).toEqual(['type2:register']);
  });

  // completeForR4 prunes empty values BEFORE mendObjection looks at the dates: a withdrawal the
  // practice refused ('period without a start', an empty period) leaves with only its other date,
  // and the centre applies it.
  it('F2a: a withdrawal refused for an empty period is not applied by the centre', async () => {
    const w = obs('w1', 'p4', ['9Nu1'], {
      effectiveDateTime: '2021-01-01T10:00:00Z',
      effectivePeriod: {},
    });
    expect(practice(w).kind).toBe('rejected');
    const { lines } = await extract([patient('p4', nhsNumber(916_004)), condition('p4-c', 'p4'), w]);
    const written = lines.find((l) => l.id === 'w1');
    if (written) expect(centre(written).kind).not.toBe('objection');
  });

  it('F2b: a withdrawal refused for a period end of "" is not applied by the centre', async () => {
    const w = obs('w2', 'p5', ['9Nu1'], {
      effectivePeriod: { start: '2021-01-01T10:00:00Z', end: '' },
    });
    expect(practice(w).kind).toBe('rejected');
    const { lines } = await extract([patient('p5', nhsNumber(916_005)), condition('p5-c', 'p5'), w]);
    const written = lines.find((l) => l.id === 'w2');
    if (written) expect(centre(written).kind).not.toBe('objection');
  });

  // The other direction: a Type 1 registration the practice reads at the time received (an empty
  // period end makes the period odd) leaves, pruned, as a registration of 2020-06-01: the centre
  // reads it years earlier than the practice did, and a later withdrawal the practice let leave
  // (of a day before the deciding objection) then lifts it at the centre.
  it('F2c: a Type 1 registration the practice read at the time received is not read years earlier by the centre', async () => {
    const n = nhsNumber(916_006);
    const r = obs('r6', 'p6', ['9Nu0'], { effectivePeriod: { start: '2020-06-01T10:00:00Z', end: '' } });
    const w = obs('w6', 'p6', ['9Nu1'], { effectiveDateTime: '2021-01-01T10:00:00Z' });
    const p = practice(r);
    expect(p.kind === 'objection' && p.warning).toMatch(/time received used$/);
    const { lines } = await extract([patient('p6', n), condition('p6-c', 'p6'), r, w]);
    // the practice removed the patient: Type 1 active
    expect(lines.filter((l) => l.resourceType === 'Condition')).toEqual([]);
    // every Type 1 entry that left, read by the centre: the latest must still be the registration
    const t1 = lines
      .map((l) => ({ l, o: centre(l) }))
      .filter((x) => x.o.kind === 'objection')
      .map((x) => ({ ...(x.o as Extract<ReturnType<typeof readObjection>, { kind: 'objection' }>) }))
      .flatMap((o) =>
        o.entries.filter((e) => e.type === 'type1').map((e) => ({ a: e.action, at: o.instant })),
      )
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.a === 'register' ? 1 : -1));
    expect(t1.at(-1)?.a).toBe('register');
  });
});

describe('review-16: a withdrawal the practice refuses as no valid statement leaves as a valid one', () => {
  // The practice (readObjection on the line as sent) refuses a withdrawal recorded in error with a
  // status in another case or with spaces, or a refuted Condition. stripToSpec drops the odd status
  // (FHIR_STATUS_CODE is lower case) and a Condition's verificationStatus; passOn puts the latter back
  // only for lines that are no objection, and completeForR4 writes status 'unknown'. The centre reads
  // the written line: a plain withdrawal, applied.
  const cases: [string, Record<string, unknown>][] = [
    [
      'status "Entered-In-Error"',
      {
        ...obs('s1', 'q1', ['9Nu1'], { effectiveDateTime: '2021-01-01T10:00:00Z' }),
        status: 'Entered-In-Error',
      },
    ],
    [
      'status " entered-in-error"',
      {
        ...obs('s1', 'q1', ['9Nu1'], { effectiveDateTime: '2021-01-01T10:00:00Z' }),
        status: ' entered-in-error',
      },
    ],
    [
      'status "CANCELLED"',
      { ...obs('s1', 'q1', ['9Nu1'], { effectiveDateTime: '2021-01-01T10:00:00Z' }), status: 'CANCELLED' },
    ],
    [
      'a refuted Condition',
      {
        resourceType: 'Condition',
        id: 's1',
        subject: { reference: 'Patient/q1' },
        code: { coding: [{ system: READ, code: '9Nu1' }] },
        onsetDateTime: '2021-01-01T10:00:00Z',
        verificationStatus: { coding: [{ code: 'refuted' }] },
      },
    ],
  ];
  let seed = 916_200;
  it.each(cases)(
    'F3: a withdrawal with %s refused at the practice is not applied by the centre',
    async (_n, w) => {
      expect(practice(w).kind).toBe('rejected');
      const { lines } = await extract([patient('q1', nhsNumber(++seed)), condition('q1-c', 'q1'), w]);
      const written = lines.find((l) => l.id === 's1');
      if (written) expect(centre(written).kind).not.toBe('objection');
    },
  );
});

describe('review-16: end to end — a Type 1 objection recorded through the API is lifted by the extract', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    a = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  const type1Active = async (n: string) =>
    (await t.sql.query(`SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type1'`, [n]))
      .rows[0]?.active as boolean | undefined;
  const held = async (n: string) =>
    Number(
      (
        await t.sql.query(
          `SELECT count(*)::int AS c FROM gp_events e JOIN patients q ON q.id = e.patient_id WHERE q.nhs_number = $1`,
          [n],
        )
      ).rows[0].c,
    );

  // The practice records a Type 1 objection through the API (the register: SPEC §2). Its system's
  // export has an entry registering Type 2 and withdrawing Type 1 with an unreadable date. The
  // centre, given that export as is, keeps the objection (the withdrawal is dropped: not dated to
  // the second). Given what the extractor wrote from it, the Type 1 objection is lifted and the
  // patient's record stored.
  it('F1b end to end: the extractor output does not lift the API Type 1 objection the raw line leaves in force', async () => {
    const n = nhsNumber(916_101);
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: n, type: 'type1', action: 'register' })
      .expect(201);
    expect(await type1Active(n)).toBe(true);
    await nextSecond();
    const resources = [
      patient('e1', n),
      condition('e1-c', 'e1'),
      obs('e1-m', 'e1', ['9Nu4', '9Nu1'], { effectiveDateTime: 'unknown' }),
    ];
    // Control: the raw export at the centre leaves the objection in force.
    expect((await upload(t, a, 'A81001', ndjson(resources))).status).toBe(201);
    expect(await type1Active(n)).toBe(true);
    expect(await held(n)).toBe(0);
    // The extractor's output.
    const { lines } = await extract(resources);
    await nextSecond();
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await type1Active(n)).toBe(true);
    expect(await held(n)).toBe(0);
  });
  // F3 end to end: the same with a withdrawal recorded in error (status in capitals) after the API
  // objection. The raw line is refused at the centre; the extractor's line lifts the objection.
  it('F3 end to end: a withdrawal "Entered-In-Error" does not lift the API Type 1 objection after the extractor', async () => {
    const n = nhsNumber(916_102);
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: n, type: 'type1', action: 'register' })
      .expect(201);
    await nextSecond();
    await nextSecond();
    const at = new Date(Date.now() - 500).toISOString().slice(0, 19) + 'Z';
    await nextSecond();
    const resources = [
      patient('e2', n),
      condition('e2-c', 'e2'),
      { ...obs('e2-w', 'e2', ['9Nu1'], { effectiveDateTime: at }), status: 'Entered-In-Error' },
    ];
    expect((await upload(t, a, 'A81001', ndjson(resources))).status).toBe(201);
    expect(await type1Active(n)).toBe(true);
    const { lines } = await extract(resources);
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await type1Active(n)).toBe(true);
    expect(await held(n)).toBe(0);
  });
  // F2 end to end (Type 2): a Type 2 objection whose period has an empty end is read at the time
  // received (the raw line at the centre: in force). The extractor prunes the empty end: the
  // centre reads the objection at the period's start, and a withdrawal of 2021 in the same export
  // lifts it — the patient's record-level data then go to bids that leave Type 2 objectors out.
  it('F2 end to end: a Type 2 objection with an empty period end stays in force after the extractor', async () => {
    const resources = (n: string, p: string) => [
      patient(p, n),
      condition(`${p}-c`, p),
      obs(`${p}-r`, p, ['9Nu4'], { effectivePeriod: { start: '2020-06-01T10:00:00Z', end: '' } }),
      obs(`${p}-w`, p, ['9Nu5'], { effectiveDateTime: '2021-01-01T10:00:00Z' }),
    ];
    const type2Active = async (n: string) =>
      (
        await t.sql.query(`SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'`, [
          n,
        ])
      ).rows[0]?.active as boolean | undefined;
    // Control: the raw export (another patient, the same lines).
    const raw = nhsNumber(916_103);
    expect((await upload(t, a, 'A81001', ndjson(resources(raw, 'e3')))).status).toBe(201);
    expect(await type2Active(raw)).toBe(true);
    // What the extractor wrote from it.
    const n = nhsNumber(916_104);
    const { lines } = await extract(resources(n, 'e4'));
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await type2Active(n)).toBe(true);
  });
  // F4: a Type 1 objection naming two NHS numbers (subject.identifier as a list, which both readers
  // tolerate) makes both persons objectors at the practice: both are removed, and the entry leaves
  // as their marker. stripToSpec keeps the FIRST NHS identifier only, and objectorMarkerEntry puts
  // the NHS number on the subject only when there is one: the centre reads a Type 1 objection for
  // the first person, none for the second — whose record the centre already holds is kept, and is
  // released. (The raw line at the centre: both objectors.)
  it('F4: a Type 1 objection naming two NHS numbers reaches the centre for both', async () => {
    const [x, y] = [nhsNumber(916_105), nhsNumber(916_106)];
    // The centre holds y from an earlier extract.
    expect((await upload(t, a, 'A81001', ndjson([patient('fy', y), condition('fy-c', 'fy')]))).status).toBe(
      201,
    );
    expect(await held(y)).toBe(1);
    await nextSecond();
    const { lines } = await extract([
      patient('fx', x),
      patient('fy', y),
      condition('fy-c', 'fy'),
      {
        resourceType: 'Observation',
        id: 'f4',
        status: 'final',
        subject: {
          identifier: [
            { system: 'https://fhir.nhs.uk/Id/nhs-number', value: x },
            { system: 'https://fhir.nhs.uk/Id/nhs-number', value: y },
          ],
        },
        code: { coding: [{ system: READ, code: '9Nu0' }] },
        effectiveDateTime: '2020-05-03T10:00:00Z',
      },
    ]);
    // The practice removed both.
    expect(lines.filter((l) => l.resourceType === 'Condition')).toEqual([]);
    expect((await upload(t, a, 'A81001', ndjson(lines))).status).toBe(201);
    expect(await type1Active(x)).toBe(true);
    expect.soft(await type1Active(y)).toBe(true);
    expect.soft(await held(y)).toBe(0);
  });
  // F4 at the centre alone: the raw export — the centre's own reading (stripToSpec first) loses the
  // second NHS number too, and stores the objector's record.
  it('F4 (centre): the intake records a Type 1 objection naming two NHS numbers for both, and stores neither', async () => {
    const [x, y] = [nhsNumber(916_107), nhsNumber(916_108)];
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('gx', x),
        patient('gy', y),
        condition('gy-c', 'gy'),
        {
          resourceType: 'Observation',
          id: 'g4',
          status: 'final',
          subject: {
            identifier: [
              { system: 'https://fhir.nhs.uk/Id/nhs-number', value: x },
              { system: 'https://fhir.nhs.uk/Id/nhs-number', value: y },
            ],
          },
          code: { coding: [{ system: READ, code: '9Nu0' }] },
          effectiveDateTime: '2020-05-03T10:00:00Z',
        },
      ]),
    );
    expect(res.status).toBe(201);
    expect(await type1Active(x)).toBe(true);
    expect.soft(await type1Active(y)).toBe(true);
    expect.soft(await held(y)).toBe(0);
  });
});
