import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { copyValue, STAGING_COLUMNS, StagingRows, StreamStats } from './staging-rows';

const TODAY = '2026-01-15';
const NHS = '9434765919';

async function stage(text: string, chunk = 7): Promise<{ rows: string[][]; stats: StreamStats }> {
  const stats: StreamStats = { lines: 0, rejected: [], unsupported: 0, byField: Object.create(null) };
  const whole = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < whole.length; i += chunk) chunks.push(whole.subarray(i, i + chunk));
  let out = '';
  await pipeline(
    Readable.from(chunks),
    new StagingRows('A81001', TODAY, stats),
    new Writable({
      write(c: Buffer, _e, done) {
        out += c.toString();
        done();
      },
    }),
  );
  return {
    rows: out
      .split('\n')
      .filter(Boolean)
      .map((r) => r.split('\t')),
    stats,
  };
}

/** Reads a COPY text value back (the inverse of copyValue). */
const unCopy = (v: string) =>
  v === '\\N' ? null : v.replace(/\\(.)/g, (_m, c: string) => ({ t: '\t', n: '\n', r: '\r' })[c] ?? c);

describe('StagingRows', () => {
  it('writes one row per kept line, with every staging column in order, and counts the rest', async () => {
    const lines = [
      JSON.stringify({
        resourceType: 'Patient',
        id: 'p1',
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS }],
        name: [{ family: 'Gone' }],
        birthDate: '1970-02-03',
        gender: 'female',
        address: [{ line: ['1 High St'], postalCode: 'ls1 4ab' }],
      }),
      '',
      JSON.stringify({
        resourceType: 'Observation',
        id: 'o1',
        subject: { reference: 'Patient/p1' },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '27113001', display: 'weight' }] },
        effectiveDateTime: '2020-05-06T10:00:00Z',
        valueQuantity: { value: 71.5, unit: 'kg' },
      }),
      JSON.stringify({
        resourceType: 'Observation',
        id: 'o2',
        subject: { reference: 'Patient/p1' },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '827241000000103' }] },
        effectiveDateTime: '2021-01-01',
      }),
      JSON.stringify({ resourceType: 'Encounter', id: 'e1' }),
      '{not json',
      JSON.stringify({ resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p1' } }),
    ];
    const { rows, stats } = await stage(`${lines.join('\r\n')}\r\n`);
    const columns = STAGING_COLUMNS.split(', ');
    const named = rows.map((r) => Object.fromEntries(r.map((v, i) => [columns[i], unCopy(v)])));
    expect(rows.every((r) => r.length === columns.length)).toBe(true);
    expect(named).toEqual([
      expect.objectContaining({ line: '1', kind: 'P', id: 'p1', subject: null, nhs_number: NHS }),
      expect.objectContaining({
        line: '3',
        kind: 'E',
        id: 'o1',
        subject: 'p1',
        resource_type: 'observation',
      }),
      expect.objectContaining({ line: '4', kind: 'O', id: 'o2', subject: 'p1', event_date: '2021-01-01' }),
    ]);
    expect(named[0]).toMatchObject({ birth_date: '1970-02-03', sex: 'F', postcode: 'LS1 4AB', code: null });
    expect(named[1]).toMatchObject({
      code_system: 'snomed',
      code: '27113001',
      value: '71.5 kg',
      obj_type: null,
    });
    expect(named[2]).toMatchObject({ obj_type: 'type1', obj_action: 'register', code: null });
    expect(stats.lines).toBe(7);
    expect(stats.unsupported).toBe(1);
    expect(stats.rejected).toEqual([
      { line: 6, reason: 'malformed JSON' },
      { line: 7, reason: 'Condition.code: code missing' },
    ]);
    expect(stats.byField).toEqual({ name: 1, 'address.line': 1, 'code.coding.display': 1 });
  });

  it('copyValue round-trips any text through COPY text format, and NULL', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'binary' })), (v) => {
        const c = copyValue(v);
        expect(c).not.toMatch(/[\t\n\r]/);
        expect(unCopy(c)).toBe(v);
      }),
    );
  });
});
