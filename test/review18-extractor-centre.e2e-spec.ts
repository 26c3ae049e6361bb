import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { nextSecond, practiceReady, upload } from './support/practice';

/**
 * Review 18: the extractor's objection output (objection-canonical.ts) as the centre then stores
 * and deletes, over more than one extract.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'review18-'));
let file = 0;
async function extract(resources: unknown[]) {
  const input = path.join(dir, `in-${++file}.ndjson`);
  const output = path.join(dir, `out-${file}.ndjson`);
  writeFileSync(input, ndjson(resources));
  const report = await runExtractor({ practiceOds: 'A81001', input, output });
  const text = readFileSync(output, 'utf8');
  const lines = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { report, lines, text };
}

const obs = (id: string, subject: Record<string, unknown>, codes: string[], date?: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject,
  code: { coding: codes.map((code) => ({ system: READ, code })) },
  ...(date !== undefined && { effectiveDateTime: date }),
});
const byNhs = (n: string) => ({ identifier: { system: NHS, value: n } });
/** A Patient record carrying two NHS numbers (an old one first, the current one second). */
const twoNumbers = (id: string, first: string, second: string) =>
  patient(id, first, {
    identifier: [
      { system: NHS, value: first },
      { system: NHS, value: second },
    ],
  });

describe('review-18: extractor output at the centre', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    a = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  const heldEvents = async (n: string) =>
    Number(
      (
        await t.sql.query(
          `SELECT count(*)::int AS c FROM gp_events e JOIN patients q ON q.id = e.patient_id WHERE q.nhs_number = $1`,
          [n],
        )
      ).rows[0].c,
    );
  const objectionEvents = async (n: string) =>
    Number(
      (await t.sql.query(`SELECT count(*)::int AS c FROM objection_events WHERE nhs_number = $1`, [n]))
        .rows[0].c,
    );

  // R18-1. A Patient record carries two NHS numbers, X first (what the centre stores the record
  // under: fhir.ts mapPatient takes the first identifier) and Y. A Type 1 objection names the
  // patient by NHS number Y. The extractor treats the record as an objector's (keysOfPatient has
  // nhs:Y): it drops the clinical data and writes a marker — carrying X (the first identifier) — but
  // the objection entry names Y only (numbersOf widens a *reference* to every number of the record,
  // never an NHS number to the record's other numbers). The centre registers Type 1 for Y; what it
  // already held for this person, under X, is never deleted and stays releasable.
  it('R18-1: a Type 1 objection by the second NHS number of a record deletes what the centre holds for the record', async () => {
    const [x, y] = [nhsNumber(918_001), nhsNumber(918_002)];
    // First extract: no objection yet; the record and a Condition are stored (under X).
    const first = await extract([twoNumbers('p1', x, y), condition('p1-c', 'p1')]);
    expect((await upload(t, a, 'A81001', first.text)).status).toBe(201);
    expect(await heldEvents(x)).toBe(1);
    // The patient objects (Type 1), the practice's system naming them by their current number.
    const second = await extract([
      twoNumbers('p1', x, y),
      condition('p1-c', 'p1'),
      obs('p1-t1', byNhs(y), ['9Nu0'], '2024-01-01T10:00:00Z'),
    ]);
    // the practice reads p1 as a Type 1 objector: its Condition does not leave
    expect(second.lines.some((l) => l.id === 'p1-c')).toBe(false);
    expect(second.report.removed.type1Patients).toBe(1);
    expect((await upload(t, a, 'A81001', second.text)).status).toBe(201);
     
    console.log(
      'R18-1 held after:',
      JSON.stringify(
        (
          await t.sql.query(
            `SELECT p.nhs_number, p.birth_date, p.practice_ods, (SELECT json_agg(r.*) FROM patient_registrations r WHERE r.patient_id = p.id) AS regs,
                    (SELECT json_agg(g.*) FROM objection_register g WHERE g.nhs_number IN ($1, $2)) AS reg
               FROM patients p WHERE p.nhs_number IN ($1, $2)`,
            [x, y],
          )
        ).rows,
      ),
    );
    // What the centre held of this Type 1 objector must be gone (SPEC §2: "any GP-derived data
    // already held for them is deleted").
    expect(await heldEvents(x)).toBe(0);
  });

  // R18-2. The record (X, Y) plus a second Patient record of the same person that carries X only
  // (a duplicate record; SPEC §2: "Duplicate Patient records with one NHS number are one patient:
  // an objection on either applies"). The Type 1 objection names the person by NHS number Y.
  // Nothing of X is an objector's to the extractor (keys nhs:X is no objector), so s2 and its
  // Condition leave, and the centre stores them (its register has Type 1 for Y only): fail open at
  // both ends. (By reference to s1 instead, numbersOf names X and Y and s2 is kept back: sound.)
  it("R18-2: a duplicate record of the objector record's other NHS number is neither kept back nor stored (objection named by NHS number)", async () => {
    const [x, y] = [nhsNumber(918_021), nhsNumber(918_022)];
    const { lines, text } = await extract([
      twoNumbers('s1', x, y),
      patient('s2', x),
      condition('s2-c', 's2'),
      obs('s1-t1', byNhs(y), ['9Nu0'], '2024-01-01T10:00:00Z'),
    ]);
    expect((await upload(t, a, 'A81001', text)).status).toBe(201);
    expect(await heldEvents(x)).toBe(0);
    expect(lines.some((l) => l.id === 's2-c')).toBe(false);
  });

  // R18-3. Idempotency (SPEC §2: "Re-sending the same extract does not duplicate anything"). A
  // Type 2 objection recorded with a date-only effectiveDateTime of TODAY is read by the extractor
  // at the time received ("runs past the time received") and the canonical entry is written with
  // NO date (atReceived), although the practice's entry had one. The centre reads each upload of
  // that same file at its own time received: every re-send is a new objection_events row (and
  // the instant drifts later with each upload, e.g. past a later withdrawal).
  it('R18-3: re-sending the same extractor output does not add objection events', async () => {
    const z = nhsNumber(918_031);
    const today = new Date().toISOString().slice(0, 10);
    const { lines, text } = await extract([
      patient('z1', z),
      obs('z1-t2', { reference: 'Patient/z1' }, ['9Nu4'], today),
    ]);
    const entry = lines.find((l) => l.resourceType === 'Observation')!;
    // diagnostic: the practice's date (today) is gone from the entry
     
    console.log('R18-3 entry as written:', JSON.stringify(entry));
    expect((await upload(t, a, 'A81001', text)).status).toBe(201);
    expect(await objectionEvents(z)).toBe(1);
    await nextSecond();
    expect((await upload(t, a, 'A81001', text)).status).toBe(201);
    expect(await objectionEvents(z)).toBe(1);
  });

  // R18-4. A Type 1 withdrawal sent in one extract and then marked entered-in-error by the
  // practice (recorded in error: it withdrew nothing). The practice now reads the patient as a Type
  // 1 objector: the extractor drops their Condition and writes the marker and the registration; the
  // withdrawal, not applied, does not leave. But the centre's history keeps the withdrawal from the
  // first extract (objection events are never taken back: no id is kept), the latest instant is
  // still that withdrawal, the register stays inactive, and the marker is no objection to the
  // centre (it carries no objection code, SPEC §2's "NHS number + objection code"). What the centre
  // held of this Type 1 objector is neither deleted nor kept out of releases.
  // R18-4 and R18-6 (a withdrawal a later extract no longer carries keeps lifting the objection)
  // are not fixed: branch review-18 keeps their failing tests; the closing note says why.
});
