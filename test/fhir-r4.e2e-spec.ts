import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { parseExtractLine } from '../libs/practices/src/fhir';
import { generate } from '@custodian/synth';
import { officialR4Schema, r4Problems } from './support/fhir-r4';
import {
  condition,
  medication,
  ndjson,
  nhsNumber,
  objection,
  observation,
  patient,
  procedure,
} from './support/fhir';

/**
 * The practice exports of the synthetic generator and the extracts the extractor writes are FHIR
 * R4 a validator accepts (issue #23; SPEC §2): every element R4 requires, on every resource, the
 * objection markers included. Checked by rules independent of both producers (support/fhir-r4.ts)
 * and, where installed, by the official R4 JSON schema.
 */
const official = officialR4Schema();

function problemsOf(file: string, limit = 20): string[] {
  const out: string[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim() || out.length >= limit) return;
      const r = JSON.parse(line) as unknown;
      for (const p of [...r4Problems(r), ...(official?.(r) ?? [])]) out.push(`line ${i + 1}: ${p}`);
    });
  return out;
}

describe('FHIR R4 conformance of exports and extracts', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fhir-r4-'));
  let exportFile: string;

  beforeAll(async () => {
    const manifest = await generate({
      practices: 1,
      patients: 3000,
      seed: 23,
      eventsPerPatient: 4,
      asOf: '2026-06-30',
      outDir: dir,
    });
    exportFile = path.join(dir, manifest.practices[0].file);
  });

  it("the synthetic generator's practice export (3000 patients)", () => {
    expect(problemsOf(exportFile)).toEqual([]);
  });

  it("the extractor's extract of that export, objection markers included", async () => {
    const output = path.join(dir, 'extract.ndjson');
    const report = await runExtractor({ practiceOds: 'A81001', input: exportFile, output });
    expect(report.removed.type1Patients).toBeGreaterThan(0); // markers were written
    expect(problemsOf(output)).toEqual([]);
  });

  it('an export missing or garbling required elements still gives a conformant extract', async () => {
    const input = path.join(dir, 'odd.ndjson');
    const output = path.join(dir, 'odd-extract.ndjson');
    const n = [nhsNumber(230_001), nhsNumber(230_002)];
    writeFileSync(
      input,
      ndjson([
        patient('p1', n[0]),
        // No status at all, a free-text status, one outside the value set.
        observation('o1', 'p1', { status: undefined }),
        procedure('pr1', 'p1', { status: 'Seen by Dr Smith' }),
        medication('m1', 'p1', { status: 'taken' }),
        condition('c1', 'p1'),
        // Required elements that cannot be made up: no code, no subject, no medication.
        observation('o2', 'p1', { code: undefined, status: 'final' }),
        {
          resourceType: 'Condition',
          id: 'c2',
          code: { coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] },
        },
        medication('m2', 'p1', { medicationCodeableConcept: { text: 'free text only' }, status: 'active' }),
        // A Type 1 objector: the marker entry leaves, and must be conformant too.
        patient('p2', n[1]),
        objection('x1', 'p2', '9Nu0', '2016-01-01'),
      ]),
    );
    const report = await runExtractor({ practiceOds: 'A81001', input, output });
    expect(problemsOf(output)).toEqual([]);
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const byId = new Map(out.map((r) => [r.id, r]));
    expect(byId.get('o1')?.status).toBe('unknown');
    expect(byId.get('pr1')?.status).toBe('unknown');
    expect(byId.get('m1')?.status).toBe('unknown');
    expect(byId.has('o2') || byId.has('c2') || byId.has('m2')).toBe(false);
    expect(report.removed.incompleteResources).toBe(3);
    const marker = out.find(
      (r) => r.resourceType === 'Observation' && (r.subject as { identifier?: unknown })?.identifier,
    );
    expect(marker).toMatchObject({ status: 'unknown', code: { coding: [{ code: '9Nu0' }] } });
  });

  it('an export with values of the wrong R4 type: those resources are not written (line and reason); objection entries are mended, never dropped, and read the same', async () => {
    const input = path.join(dir, 'typed.ndjson');
    const output = path.join(dir, 'typed-extract.ndjson');
    const n = [nhsNumber(230_101), nhsNumber(230_102), nhsNumber(230_103), nhsNumber(230_104)];
    const inError = { coding: [{ code: 'entered-in-error' }] };
    const lines = [
      /* 1 */ patient('p1', n[0]),
      /* 2 */ observation('o1', 'p1', { effectiveDateTime: '2015-06-07T10:00' }), // no seconds, no offset
      /* 3 */ procedure('pr1', 'p1', { performedDateTime: '2013-02-03T10:00:00' }), // no offset
      /* 4 */ patient('p9', n[3], { gender: 'M' }),
      /* 5 */ patient('p8', nhsNumber(230_105), { birthDate: '1970-3-4' }),
      /* 6 */ observation('o2', 'p1', { valueQuantity: { value: '72.5', unit: 'kg' } }),
      /* 7 */ condition('c1', 'p1', { onsetDateTime: 'last spring' }),
      /* 8 */ medication('m1', 'p1', { status: 'entered-in-error' }),
      /* 9 */ condition('c2', 'p1', { verificationStatus: inError }),
      /* 10 */ condition('c3', 'p1', { status: 'active' }), // Condition has no status in R4: dropped
      /* 11 */ observation('o3', 'p1', {
        code: { coding: [{ system: 'http://snomed.info/sct', code: ' 271649006 ' }] },
      }),
      // Objection entries of people who are not Type 1 objectors, odd in every way R4 cares about.
      /* 12 */ patient('p2', n[1]),
      /* 13 */ { ...objection('x1', 'p2', '9Nu4', 'garbage'), status: 'Patient said so', id: 'not an id!' },
      /* 14 */ { ...objection('x2', 'p2', '9Nu4', '2019-05-01T10:00'), status: 'entered-in-error' },
      /* 15 */ {
        ...objection('x3', 'p2', '9Nu5', 'garbage'),
        effectivePeriod: { start: '2018-01-01T00:00:00Z' }, // never read: the first date element decides
      },
      /* 16 */ { ...objection('x4', 'p2', ' 9Nu4 ', '2017-01-01'), valueQuantity: { value: 'x' } },
      // A Type 1 objector: marker and entry, the entry's date mended.
      /* 17 */ patient('p3', n[2]),
      /* 18 */ { ...objection('x5', 'p3', '9Nu0', '2016-01-01T09:00'), effectiveInstant: 'soon' },
    ];
    writeFileSync(input, ndjson(lines));
    const received = '2026-06-30T12:00:00Z';
    const report = await runExtractor({ practiceOds: 'A81001', input, output });
    expect(problemsOf(output)).toEqual([]);
    expect(report.rejected).toEqual([
      { line: 2, reason: 'Observation.effectiveDateTime: not a FHIR R4 dateTime' },
      { line: 3, reason: 'Procedure.performedDateTime: not a FHIR R4 dateTime' },
      { line: 4, reason: 'Patient.gender: not male, female, other or unknown' },
      { line: 5, reason: 'Patient.birthDate: not a FHIR R4 date' },
      { line: 6, reason: 'Observation.valueQuantity.value: not a FHIR R4 decimal' },
      { line: 7, reason: 'Condition.onsetDateTime: not a FHIR R4 dateTime' },
      { line: 11, reason: 'Observation.code.coding.code: not a FHIR R4 code' },
    ]);
    expect(report.removed.invalidResources).toBe(7);
    expect(report.removed.enteredInError).toBe(2);
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const ids = out.map((r) => r.id);
    for (const gone of ['o1', 'pr1', 'p9', 'p8', 'o2', 'c1', 'o3']) expect(ids).not.toContain(gone);
    // Recorded in error: written marked so (R4 valid, the output's check above), so that the centre
    // removes what an earlier extract sent under the id; read there as a retraction, never stored.
    const m1 = out.find((r) => r.id === 'm1')!;
    const c2 = out.find((r) => r.id === 'c2')!;
    expect(m1.status).toBe('entered-in-error');
    expect(c2.verificationStatus).toEqual({
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' },
      ],
    });
    for (const r of [m1, c2])
      expect(parseExtractLine(JSON.stringify(r), 'A81001', received.slice(0, 10))).toMatchObject({
        kind: 'event',
        retract: 'entered-in-error',
      });
    expect(out.find((r) => r.id === 'c3')).not.toHaveProperty('status');
    // Every objection entry the practice applied leaves (four: x1 without its id; x3, a withdrawal
    // with an unreadable date, is not applied and does not leave), each read at the centre as the
    // practice's export reads it: the same meaning, subject and instant.
    const objections = out.filter((r) => JSON.stringify(r.code ?? null).includes('9Nu'));
    expect(objections).toHaveLength(4);
    const reading = (r: unknown) => {
      const m = parseExtractLine(JSON.stringify(r), 'A81001', received.slice(0, 10), undefined, received);
      return m.kind === 'objection'
        ? { kind: m.kind, entries: m.entries, instant: m.instant }
        : { kind: m.kind };
    };
    const sent = [13, 14, 16, 18].map((l) => reading(lines[l - 1]));
    expect(objections.map(reading)).toEqual(sent);
    expect(sent.map((x) => x.kind)).toEqual(['objection', 'objection', 'objection', 'objection']);
    expect(reading(lines[14])).toEqual({ kind: 'rejected' });
  });

  it('a refuted Condition, a Procedure not done, a medication not taken, a cancelled Observation leave marked so (R4 valid), read at the centre as retractions, never as events (a refuted diagnosis went out as one)', async () => {
    const input = path.join(dir, 'negated.ndjson');
    const output = path.join(dir, 'negated-extract.ndjson');
    const refuted = { coding: [{ code: 'refuted' }] };
    writeFileSync(
      input,
      ndjson([
        patient('p1', nhsNumber(230_201)),
        condition('c1', 'p1', {
          verificationStatus: refuted,
          clinicalStatus: { coding: [{ code: 'active' }] },
        }),
        procedure('pr1', 'p1', { status: 'not-done' }),
        medication('m1', 'p1', { status: 'not-taken' }),
        observation('o1', 'p1', { status: 'cancelled' }),
        condition('c2', 'p1'),
      ]),
    );
    const report = await runExtractor({ practiceOds: 'A81001', input, output });
    expect(problemsOf(output)).toEqual([]);
    expect(report.removed).toMatchObject({ notHappened: 4, enteredInError: 0 });
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const byId = new Map(out.map((r) => [r.id, r]));
    expect(byId.get('c1')?.verificationStatus).toEqual({
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'refuted' }],
    });
    expect(byId.get('c1')).not.toHaveProperty('clinicalStatus');
    const read = (id: string) => parseExtractLine(JSON.stringify(byId.get(id)), 'A81001', '2026-06-30');
    expect(read('c1')).toMatchObject({ kind: 'event', retract: 'refuted' });
    expect(read('pr1')).toMatchObject({ kind: 'event', retract: 'not-done' });
    expect(read('m1')).toMatchObject({ kind: 'event', retract: 'not-taken' });
    expect(read('o1')).toMatchObject({ kind: 'event', retract: 'cancelled' });
    expect(read('c2')).not.toHaveProperty('retract');
  });

  it.skipIf(!official)('the official R4 JSON schema is in use', () => {
    // The published schema lists required complex elements and value sets (not required primitives).
    expect(official!({ resourceType: 'Observation', status: 'final', code: { text: 'x' } })).toEqual([]);
    expect(
      official!({ resourceType: 'Observation', status: 'taken', code: { text: 'x' } }).length,
    ).toBeGreaterThan(0);
    expect(official!({ resourceType: 'Observation', status: 'final' }).length).toBeGreaterThan(0);
  });
});
