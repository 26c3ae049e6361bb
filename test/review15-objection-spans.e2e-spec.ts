import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { extractorRun } from './support/extractor-run';

/**
 * Review 15 of 4c6516e (objection-date.ts): a registration read at the LAST second of its span, a
 * withdrawal at the FIRST. Attacks where the new reading fails open.
 */
const obs = (id: string, subject: string, codes: string[], o: Record<string, unknown>) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject: { reference: `Patient/${subject}` },
  code: { coding: codes.map((code) => ({ system: READ, code })) },
  ...o,
});

describe('review-15: the extractor (practice side)', () => {
  const extract = extractorRun('review15-');

  // F1: one entry registering Type 2 (9Nu4) and withdrawing Type 1 (9Nu1), dated by a day. The entry
  // is read as a registration, so at the day's LAST second — and the Type 1 withdrawal it carries
  // gets that instant too. It now lifts a Type 1 objection made at 10:00 that day; read at the day's
  // first second (as every other withdrawal, and as this one was before 4c6516e) it would not.
  it('F1: a Type 1 withdrawal riding on a Type 2 registration dated by a day does not lift a Type 1 objection made later that day', async () => {
    const n = nhsNumber(915_001);
    const { lines } = await extract([
      patient('p1', n),
      condition('p1-c', 'p1'),
      obs('p1-t1', 'p1', ['9Nu0'], { effectiveDateTime: '2020-05-03T10:00:00Z' }),
      obs('p1-mixed', 'p1', ['9Nu4', '9Nu1'], { effectiveDateTime: '2020-05-03' }),
    ]);
    // The Type 1 objector's full Patient record and their Condition must not leave the practice.
    const full = lines.filter((r) => r.resourceType === 'Patient' && r.birthDate !== undefined);
    expect(full).toEqual([]);
    expect(lines.filter((r) => r.resourceType === 'Condition')).toEqual([]);
  });

  it('F1 (a year): the same entry dated "2020" lifts every Type 1 objection of 2020', async () => {
    const n = nhsNumber(915_002);
    const { lines } = await extract([
      patient('p2', n),
      condition('p2-c', 'p2'),
      obs('p2-t1', 'p2', ['9Nu0'], { effectiveDateTime: '2020-06-01T10:00:00Z' }),
      obs('p2-mixed', 'p2', ['9Nu4', '9Nu1'], { effectiveDateTime: '2020' }),
    ]);
    expect(lines.filter((r) => r.resourceType === 'Condition')).toEqual([]);
  });
});

describe('review-15: the centre intake', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let seed = 915_100;
  beforeAll(async () => {
    t = await createTestApp();
    a = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  const active = async (n: string, type: string) =>
    (
      await t.sql.query(`SELECT active FROM objection_register WHERE nhs_number = $1 AND type = $2`, [
        n,
        type,
      ])
    ).rows[0]?.active as boolean | undefined;

  const send = async (entries: (p: string) => unknown[]) => {
    const n = nhsNumber(++seed);
    const p = `p${seed}`;
    const res = await upload(t, a, 'A81001', ndjson([patient(p, n), condition(`${p}-c`, p), ...entries(p)]));
    expect(res.status).toBe(201);
    return n;
  };

  // F1 at the centre, for Type 2: an entry registering Type 1 and withdrawing Type 2, dated by a day,
  // lifts a Type 2 objection recorded at 10:00 that day; the patient's HES/social-care rows are then
  // released at record-level tiers.
  it('F1: a Type 2 withdrawal riding on a Type 1 registration dated by a day leaves a Type 2 objection of 10:00 that day in force', async () => {
    const n = await send((p) => [
      obs(`${p}-t2`, p, ['9Nu4'], { effectiveDateTime: '2020-05-03T10:00:00Z' }),
      obs(`${p}-mixed`, p, ['9Nu0', '9Nu5'], { effectiveDateTime: '2020-05-03' }),
    ]);
    expect(await active(n, 'type2')).toBe(true);
  });

  it('F1 (a period): the withdrawal is read at the period END, lifting Type 2 objections inside it', async () => {
    const n = await send((p) => [
      obs(`${p}-t2`, p, ['9Nu4'], { effectiveDateTime: '2020-03-01T10:00:00Z' }),
      obs(`${p}-mixed`, p, ['9Nu0', '9Nu5'], { effectivePeriod: { start: '2020-01-01', end: '2020-06-30' } }),
    ]);
    expect(await active(n, 'type2')).toBe(true);
  });

  // F4: a withdrawal whose period has no start is read at its END — the latest instant it could
  // denote, not the first. A registration inside that open span is lifted.
  it('F4: a withdrawal with a period that has only an end does not lift a registration made before that end', async () => {
    const n = await send((p) => [
      obs(`${p}-r`, p, ['9Nu4'], { effectiveDateTime: '2020-05-01T10:00:00Z' }),
      obs(`${p}-w`, p, ['9Nu5'], { effectivePeriod: { end: '2020-05-03' } }),
    ]);
    expect(await active(n, 'type2')).toBe(true);
  });

  // F3: a FHIR date has no zone: a UK practice's 2020-05-03 began at 2020-05-02T23:00Z (BST). The
  // withdrawal is read at 2020-05-03T00:00:00Z, an hour after the first instant its date covers, and
  // lifts a registration made at 00:30 BST that day (2020-05-02T23:30Z) that it may have preceded.
  it('F3: a withdrawal dated by a (UK local) day does not lift a registration made at 00:30 BST that day', async () => {
    const n = await send((p) => [
      obs(`${p}-r`, p, ['9Nu4'], { effectiveDateTime: '2020-05-03T00:30:00+01:00' }),
      obs(`${p}-w`, p, ['9Nu5'], { effectiveDateTime: '2020-05-03' }),
    ]);
    expect(await active(n, 'type2')).toBe(true);
  });

  // F3b: the same with a time written without an offset (read as UTC): a UK practice's 10:00 in
  // summer is 09:00Z; the withdrawal read at 10:00Z lifts a registration of 09:30Z it preceded.
  it('F3b: a withdrawal at a local time without offset does not lift a registration made after it in UTC', async () => {
    const n = await send((p) => [
      obs(`${p}-r`, p, ['9Nu4'], { effectiveDateTime: '2020-06-01T09:30:00Z' }),
      obs(`${p}-w`, p, ['9Nu5'], { effectiveDateTime: '2020-06-01T10:00' }),
    ]);
    expect(await active(n, 'type2')).toBe(true);
  });

  // F6: a registration to the minute ('10:00', no seconds) covers 10:00:00–10:00:59 but is read at
  // 10:00:00, not at its last second; a withdrawal at 10:00:30 lifts it.
  it('F6: a registration to the minute is read at its last second, not its first', async () => {
    const n = await send((p) => [
      obs(`${p}-r`, p, ['9Nu4'], { effectiveDateTime: '2020-05-03T10:00Z' }),
      obs(`${p}-w`, p, ['9Nu5'], { effectiveDateTime: '2020-05-03T10:00:30Z' }),
    ]);
    expect(await active(n, 'type2')).toBe(true);
  });
});

describe('review-15: the extract report takes back the dropped fields of a line that was partly stored', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    a = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  // F8: an objection naming a Patient id not in the extract AND an NHS number that is: the id's row
  // is refused ('subject: no such Patient…', the line goes into rej) while the NHS number's row is
  // applied. report.ts takes the line's dropped fields back out as if nothing of it was stored.
  it('F8: an objection applied by its NHS number keeps its dropped-field counts', async () => {
    const n = nhsNumber(915_900);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('q1', n),
        condition('q1-c', 'q1'),
        {
          resourceType: 'Observation',
          id: 'q1-obj',
          status: 'final',
          subject: {
            reference: 'Patient/ghost',
            identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: n },
          },
          code: { coding: [{ system: READ, code: '9Nu4' }] },
          effectiveDateTime: '2020-05-03T10:00:00Z',
          note: [{ text: 'free text' }],
        },
      ]),
    );
    expect(res.status).toBe(201);
    const reg = await t.sql.query(
      `SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'`,
      [n],
    );
    expect(reg.rows[0]?.active).toBe(true); // the line's objection was applied
    expect(res.body.rejectedCount).toBe(1); // and the line is listed as refused
    expect(res.body.dropped.byField).toMatchObject({ note: 1 });
  });
});
