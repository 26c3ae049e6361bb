import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
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

  it.skipIf(!official)('the official R4 JSON schema is in use', () => {
    // The published schema lists required complex elements and value sets (not required primitives).
    expect(official!({ resourceType: 'Observation', status: 'final', code: { text: 'x' } })).toEqual([]);
    expect(
      official!({ resourceType: 'Observation', status: 'taken', code: { text: 'x' } }).length,
    ).toBeGreaterThan(0);
    expect(official!({ resourceType: 'Observation', status: 'final' }).length).toBeGreaterThan(0);
  });
});
