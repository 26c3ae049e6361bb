import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';

/**
 * Review 18: the extractor's report when an objection entry it read does not leave. A withdrawal
 * naming two persons is "not applied" (readObjection, the first pass); for Type 1 the report says
 * so (a warning with the line), for Type 2 the line silently disappears: not written, not counted
 * under `removed`, no warning, no rejection. The practice cannot see that a patient's Type 2
 * withdrawal never reached the centre (the centre, reading the same line raw, applies it to the
 * referenced Patient: staging-block.ts objectionRows).
 */
const dir = mkdtempSync(path.join(tmpdir(), 'review18-report-'));
const obs = (id: string, subject: Record<string, unknown>, code: string, date: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject,
  code: { coding: [{ system: READ, code }] },
  effectiveDateTime: date,
});

describe('review-18: the extractor report accounts for every objection entry it keeps back', () => {
  it.each([
    ['9Nu1', 'Type 1'],
    ['9Nu5', 'Type 2'],
  ])('R18-5: a %s (%s) withdrawal naming two persons is reported', async (code) => {
    const [x, y] = [nhsNumber(918_051), nhsNumber(918_052)];
    const input = path.join(dir, `in-${code}.ndjson`);
    const output = path.join(dir, `out-${code}.ndjson`);
    writeFileSync(
      input,
      ndjson([
        patient('p', x),
        patient('q', y),
        // line 3: names q by reference and p by NHS number
        obs(
          'w',
          { reference: 'Patient/q', identifier: { system: NHS, value: x } },
          code,
          '2024-02-01T10:00:00Z',
        ),
      ]),
    );
    const report = await runExtractor({ practiceOds: 'A81001', input, output });
    const out = readFileSync(output, 'utf8');
    // the withdrawal does not leave (sound: it could release someone who never withdrew)…
    expect(out).not.toContain(`"code":"${code}"`);
    // …and the report says so, with its line
    expect(report.warnings.filter((w) => w.line === 3)).toHaveLength(1);
  });
});
