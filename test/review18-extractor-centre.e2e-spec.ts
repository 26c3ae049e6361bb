import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestApp } from '@custodian/testing';
import { condition, NHS, nhsNumber, patient, READ } from './support/fhir';
import { nextSecond, upload } from './support/practice';
import { byNhs, heldEvents, practiceApp } from './support/objection-resend';
import { ReleaseEngine } from '@custodian/release';
import { gunzipSync } from 'node:zlib';
import { runRelease, spec } from './release-helpers';
import { extractorRun } from './support/extractor-run';

/**
 * Review 18: the extractor's objection output (objection-canonical.ts) as the centre then stores
 * and deletes, over more than one extract.
 */
const extract = extractorRun('review18-');

const obs = (id: string, subject: Record<string, unknown>, codes: string[], date?: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject,
  code: { coding: codes.map((code) => ({ system: READ, code })) },
  ...(date !== undefined && { effectiveDateTime: date }),
});
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
    ({ t, a } = await practiceApp());
  });
  afterAll(() => t?.close());

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
    expect(await heldEvents(t, x)).toBe(1);
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
    expect(await heldEvents(t, x)).toBe(0);
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
    expect(await heldEvents(t, x)).toBe(0);
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
  it('R18-4: a withdrawal the practice later marks entered-in-error stops lifting the objection at the centre', async () => {
    const w = nhsNumber(918_041);
    const withdrawal = (status: string) => ({
      ...obs('w1-w', { reference: 'Patient/w1' }, ['9Nu1'], '2024-06-01T10:00:00Z'),
      status,
    });
    const base = [
      patient('w1', w),
      condition('w1-c', 'w1'),
      obs('w1-t1', { reference: 'Patient/w1' }, ['9Nu0'], '2024-01-01T10:00:00Z'),
    ];
    const first = await extract([...base, withdrawal('final')]);
    expect(first.lines.some((l) => l.id === 'w1-c')).toBe(true);
    expect((await upload(t, a, 'A81001', first.text)).status).toBe(201);
    expect(await heldEvents(t, w)).toBe(1);
    const second = await extract([...base, withdrawal('entered-in-error')]);
    // the practice: a Type 1 objector (their Condition kept back, a marker written)
    expect(second.lines.some((l) => l.id === 'w1-c')).toBe(false);
    expect(second.report.removed.type1Patients).toBe(1);
    expect((await upload(t, a, 'A81001', second.text)).status).toBe(201);
    expect(await heldEvents(t, w)).toBe(0);
  });

  // R18-6. What R18-1 and R18-4 leave at the centre is released: an identifiable (s251) GP release
  // of everyone carries both Type 1 objectors' Conditions (SPEC §5: "Type 1 patients have no GP
  // data at the centre at all").
  it('R18-6: a release after R18-1 and R18-4 carries neither objector', async () => {
    const [x, y, w] = [nhsNumber(918_061), nhsNumber(918_062), nhsNumber(918_063)];
    // R18-1's shape
    expect(
      (await upload(t, a, 'A81001', (await extract([twoNumbers('r1', x, y), condition('r1-c', 'r1')])).text))
        .status,
    ).toBe(201);
    const r1 = await extract([
      twoNumbers('r1', x, y),
      condition('r1-c', 'r1'),
      obs('r1-t1', byNhs(y), ['9Nu0'], '2024-01-01T10:00:00Z'),
    ]);
    expect((await upload(t, a, 'A81001', r1.text)).status).toBe(201);
    // R18-4's shape
    const base = [
      patient('r4', w),
      condition('r4-c', 'r4'),
      obs('r4-t1', { reference: 'Patient/r4' }, ['9Nu0'], '2024-01-01T10:00:00Z'),
    ];
    const wd = (status: string) => ({
      ...obs('r4-w', { reference: 'Patient/r4' }, ['9Nu1'], '2024-06-01T10:00:00Z'),
      status,
    });
    expect((await upload(t, a, 'A81001', (await extract([...base, wd('final')])).text)).status).toBe(201);
    const r4 = await extract([...base, wd('entered-in-error')]);
    expect(r4.lines.some((l) => l.id === 'r4-c')).toBe(false);
    expect((await upload(t, a, 'A81001', r4.text)).status).toBe(201);

    const o = await t.as('release_officer');
    const officer = { id: o.user.id, roles: o.user.roles };
    const researcher = (await t.as('researcher')).user.id;
    const rel = await runRelease(
      t,
      spec({
        tier: 'identifiable',
        legalBasis: 's251',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
        cohort: {},
        recipients: [researcher],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel).toMatchObject({ state: 'completed', failure_reason: null });
    const gp = gunzipSync(
      readFileSync(path.join(t.app.get(ReleaseEngine).dirOf(rel.id), 'gp.csv.gz')),
    ).toString();

    console.log(
      'R18-6 released rows for x / w:',
      gp.split('\n').filter((l) => l.includes(x) || l.includes(w)),
    );
    expect(gp).not.toContain(x);
    expect(gp).not.toContain(w);
  });
});
