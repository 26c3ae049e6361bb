import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { ndjson } from './fhir';

/**
 * Runs the practice-side extractor (practice A81001) on `resources` written as an export, in a
 * folder of its own: the report, the output's resources and its text. One per test file.
 */
export function extractorRun(prefix: string) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  let file = 0;
  return async (resources: unknown[]) => {
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
  };
}
