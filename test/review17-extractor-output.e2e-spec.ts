import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, observation, patient, READ } from './support/fhir';
import { officialR4Schema, r4Problems } from './support/fhir-r4';
import { practiceReady, upload } from './support/practice';

/**
 * Review 17: what the extractor writes for objection entries (objection-canonical.ts), read as an
 * extract: R4 validity, resource ids, idempotency, and whether the centre takes it at all.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'review17o-'));
let file = 0;
async function extractFile(input: string) {
  const output = path.join(dir, `out-${++file}.ndjson`);
  const report = await runExtractor({ practiceOds: 'A81001', input, output });
  const text = readFileSync(output, 'utf8');
  const lines = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { report, lines, output, text };
}
async function extract(resources: unknown[]) {
  const input = path.join(dir, `in-${++file}.ndjson`);
  writeFileSync(input, ndjson(resources));
  return extractFile(input);
}
const obs = (id: string, subject: Record<string, unknown>, codes: string[], date: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject,
  code: { coding: codes.map((code) => ({ system: READ, code })) },
  effectiveDateTime: date,
});

describe('review-17: the objection entries the extractor writes', () => {
  // O1. canonicalObjections names the further entries of a split objection `${id}-2`, `${id}-3`…
  // with no regard to the ids the export already uses: an Observation of the export whose id is
  // `o1-2` (a blood pressure, or another objection entry) and the second entry of objection `o1`
  // leave with one id. Two resources of one type and id in one Bulk Data file are one resource
  // (the later a new version of the earlier): a FHIR server loading the extract keeps one.
  it('O1: no two resources of one type leave with the same id', async () => {
    const [x, y] = [nhsNumber(917_101), nhsNumber(917_102)];
    const { lines } = await extract([
      patient('px', x),
      patient('py', y),
      // a Type 2 objection naming two patients: written as o1 and o1-2
      obs(
        'o1',
        { reference: 'Patient/px', identifier: { system: NHS, value: y } },
        ['9Nu4'],
        '2020-01-01T10:00:00Z',
      ),
      observation('o1-2', 'py'),
      // two long ids that share their first 60 characters: both seconds become `<60>-2`
      obs(
        `${'a'.repeat(60)}-one`,
        { reference: 'Patient/px', identifier: { system: NHS, value: y } },
        ['9Nu4'],
        '2020-01-02T10:00:00Z',
      ),
      obs(
        `${'a'.repeat(60)}-two`,
        { reference: 'Patient/py', identifier: { system: NHS, value: x } },
        ['9Nu4'],
        '2020-01-03T10:00:00Z',
      ),
    ]);
    const keys = lines
      .filter((l) => l.id !== undefined)
      .map((l) => `${String(l.resourceType)}/${String(l.id)}`);
    const dupes = keys.filter((k, i) => keys.indexOf(k) !== i);
    expect(dupes).toEqual([]);
  });

  // O2. A Type 1 objector whose Patient record has an NHS-number identifier that is not a valid NHS
  // number (a typing error): the practice keys the person by the invalid value as given
  // (patientNhsNumbers), and objectorMarkerEntry writes the objection naming the person by that
  // value ALONE (`nhsOnly`). The centre (readObjection) reads an objection whose only subject is an
  // invalid NHS number: "an objection whose NHS number is invalid", unresolved — the WHOLE extract
  // is refused (422), every other patient's data with it, on every upload until the record is
  // mended. The raw export at the centre refuses the two lines and stores the rest. And the
  // extractor refuses its own output (ExtractRefusedError): not idempotent.
  it('O2: an objector with an invalid NHS number on their record does not make the extract unacceptable', async () => {
    const ok = nhsNumber(917_111);
    const resources = [
      patient('good', ok),
      condition('good-c', 'good'),
      patient('bad', '1234567890'),
      obs('bad-t1', { reference: 'Patient/bad' }, ['9Nu0'], '2020-01-01T10:00:00Z'),
    ];
    const first = await extract(resources);
    // the practice removed the objector and kept the other patient
    expect(first.lines.some((l) => l.id === 'good-c')).toBe(true);
    const t: TestApp = await createTestApp();
    try {
      const a = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
      // control: the raw export is taken (the two lines refused, the rest stored)
      expect((await upload(t, a, 'A81001', ndjson(resources))).status).toBe(201);
      const res = await upload(t, a, 'A81001', first.text);
      expect.soft(res.status).toBe(201);
    } finally {
      await t.close();
    }
    // re-running the extractor on its own output
    await expect(extractFile(first.output)).resolves.toBeDefined();
  });

  // O3. R4 validity of objection entries written from the reading, on each resource type an
  // objection may be on, with odd statuses and dates.
  it('O3: objection entries of every kind are FHIR R4', async () => {
    const x = nhsNumber(917_121);
    const y = nhsNumber(917_122);
    const sub = { reference: 'Patient/px', identifier: { system: NHS, value: y } };
    const { lines } = await extract([
      patient('px', x),
      patient('py', y),
      {
        resourceType: 'Condition',
        id: 'c1',
        subject: sub,
        code: { coding: [{ system: READ, code: '9Nu4' }] },
        recordedDate: '2020-01-01',
      },
      {
        resourceType: 'Condition',
        id: 'c2',
        subject: { reference: 'Patient/py' },
        code: { coding: [{ system: READ, code: '9Nu5' }] },
        onsetPeriod: { start: '2021-01-01' },
        verificationStatus: { coding: [{ code: 'confirmed' }] },
        clinicalStatus: { coding: [{ code: 'active' }] },
      },
      {
        resourceType: 'Procedure',
        id: 'p1',
        status: 'Completed',
        subject: sub,
        code: { coding: [{ system: READ, code: '9Nu4' }] },
        performedPeriod: { start: '2020-01-01T10:00' },
      },
      {
        resourceType: 'Procedure',
        id: 'p2',
        subject: { reference: 'Patient/py' },
        code: { coding: [{ system: READ, code: '9Nu5' }] },
        performedDateTime: '2021-02-02',
      },
      {
        resourceType: 'Observation',
        id: 'o1',
        subject: sub,
        code: { coding: [{ system: READ, code: ' 9Nu4 ' }] },
        effectiveInstant: '2020-01-01T10:00:00.123+01:00',
      },
      {
        resourceType: 'Observation',
        id: 'o2',
        subject: sub,
        code: { coding: [{ system: READ, code: '9Nu4' }] },
      },
    ]);
    const schema = officialR4Schema();
    const problems = lines.flatMap((l) => [
      ...r4Problems(l).map((p) => `${String(l.resourceType)}/${String(l.id)}: ${p}`),
      ...(schema ? schema(l).map((p) => `${String(l.resourceType)}/${String(l.id)} (schema): ${p}`) : []),
    ]);
    expect(problems).toEqual([]);
  });
  // O4. A Type 1 objector's marker is "always written" (completeForR4 'marker': no R4 check), with
  // the record's id as it is: an id that is no R4 id (an underscore, 65 characters) leaves as is —
  // the extract is not FHIR R4 (and the centre refuses the marker line, "Patient.id missing or
  // invalid"). The objection itself leaves by NHS number, so the objector is still applied.
  it('O4: a Type 1 marker is FHIR R4 whatever the id of the record it stands for', async () => {
    const x = nhsNumber(917_131);
    const y = nhsNumber(917_132);
    const { lines } = await extract([
      patient('p_1', x),
      obs('t1', { identifier: { system: NHS, value: x } }, ['9Nu0'], '2020-01-01T10:00:00Z'),
      patient('q'.repeat(65), y),
      obs('t2', { identifier: { system: NHS, value: y } }, ['9Nu0'], '2020-01-01T10:00:00Z'),
    ]);
    const problems = lines.flatMap((l) => r4Problems(l).map((p) => `${String(l.resourceType)}: ${p}`));
    expect(problems).toEqual([]);
  });
  // O5. Idempotency. One entry registering Type 1 and Type 2 for an objector: canonicalObjections
  // splits it into a Type 1 line and a Type 2 line (`o0-2`), both by NHS number. Re-run on that
  // output, the Type 2 line is "a resource of a Type 1 objector" with no Type 1 meaning
  // (objectorMarkerEntry → undefined) and is dropped: the second extract carries no Type 2
  // objection, the first did. (The same entry as two lines of the export loses Type 2 at once: E4.)
  it("O5: re-running the extractor on its own output keeps an objector's Type 2 objection", async () => {
    const x = nhsNumber(917_141);
    const first = await extract([
      patient('px', x),
      obs('o0', { reference: 'Patient/px' }, ['9Nu0', '9Nu4'], '2020-01-01T10:00:00Z'),
    ]);
    const type2 = (ls: Record<string, unknown>[]) =>
      ls.filter((l) => JSON.stringify(l.code ?? null).includes('9Nu4')).length;
    expect(type2(first.lines)).toBe(1);
    const second = await extractFile(first.output);
    expect(type2(second.lines)).toBe(1);
  });
});
