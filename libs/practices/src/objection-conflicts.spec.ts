import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from './extractor';
import { parseExtractLine } from './fhir';

/**
 * An outsider's probe, 2026-12-07 (probe 14): findings 2 and 3, centre and extractor.
 * - 2: a withdrawal carrying its type's registration code outside `code` was a plain withdrawal;
 * - 3: an entry with two date elements was dated by the first in a fixed list.
 */
const TODAY = '2026-01-15';
const RECEIVED = `${TODAY}T23:59:59Z`;
const READ = 'http://read.info/readv2';
const SCT = 'http://snomed.info/sct';
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
type Json = Record<string, unknown>;

const coded = (code: string, system = READ) => ({ coding: [{ system, code }] });
const entry = (code: string, o: Json = {}, type = 'Observation'): Json => ({
  resourceType: type,
  id: 'o1',
  status: 'final',
  subject: { reference: 'Patient/p1' },
  code: coded(code),
  effectiveDateTime: '2021-01-01T00:00:00Z',
  ...o,
});
const parse = (r: Json) => parseExtractLine(JSON.stringify(r), 'A81001', TODAY);

/** Where else in an entry a code may ride (finding 2's list). */
const CARRIERS = (code: string, system = READ): [string, Json][] => [
  ['valueCodeableConcept', { valueCodeableConcept: coded(code, system) }],
  ['component[].code', { component: [{ code: coded(code, system) }] }],
  ['category[]', { category: [coded(code, system)] }],
  ['method', { method: coded(code, system) }],
  ['code.text', { code: { ...coded(code === '9Nu0' ? '9Nu1' : '9Nu5'), text: `opt-out ${code}` } }],
  ['note[].text', { note: [{ text: `patient objects (${code})` }] }],
  ['focus[].display', { focus: [{ display: code }] }],
];

describe('finding 2: a withdrawal carrying the registration code anywhere is the registration', () => {
  it.each(CARRIERS('9Nu4'))('Type 2, the objection code in %s: read as the objection', (_where, extra) => {
    const r = parse(entry('9Nu5', extra));
    expect(r).toMatchObject({ kind: 'objection', entries: [{ type: 'type2', action: 'register' }] });
    expect((r as { warnings: string[] }).warnings.join()).toContain('read as the objection');
  });

  it.each([...CARRIERS('9Nu0'), ...CARRIERS('827241000000103', SCT).slice(0, 1)])(
    'Type 1, the objection code in %s: read as the objection',
    (_where, extra) => {
      expect(parse(entry('9Nu1', extra))).toMatchObject({
        kind: 'objection',
        entries: [{ type: 'type1', action: 'register' }],
      });
    },
  );

  it('…also when the withdrawal has no readable date or is recorded in error (never refused, losing the objection)', () => {
    const note = { note: [{ text: '9Nu4' }] };
    expect(parse(entry('9Nu5', { ...note, effectiveDateTime: undefined }))).toMatchObject({
      kind: 'objection',
      entries: [{ type: 'type2', action: 'register' }],
      instant: RECEIVED,
    });
    expect(parse(entry('9Nu5', { ...note, status: 'entered-in-error' }))).toMatchObject({
      kind: 'objection',
      entries: [{ type: 'type2', action: 'register' }],
    });
  });

  it('a plain withdrawal (its own code repeated in a note) is still a withdrawal', () => {
    expect(parse(entry('9Nu5', { note: [{ text: 'withdrawn 9Nu5' }] }))).toMatchObject({
      kind: 'objection',
      entries: [{ type: 'type2', action: 'withdraw' }],
      warnings: [],
    });
  });
});

describe('finding 3: every date element is read, fail closed', () => {
  const reg = (o: Json, type = 'Observation', code = '9Nu4') =>
    parse(entry(code, { effectiveDateTime: undefined, ...o }, type));
  const wd = (o: Json, type = 'Observation') => reg(o, type, '9Nu5');

  it.each<[string, Json, string, string, string]>([
    [
      'Observation',
      { effectiveDateTime: '2019-01-01T00:00:00Z', effectiveInstant: '2021-06-01T12:00:00Z' },
      '2021-06-01T12:00:00Z',
      '2019-01-01T00:00:00Z',
      'dateTime + instant',
    ],
    [
      'Observation',
      { effectiveInstant: '2019-01-01T00:00:00Z', effectiveDateTime: '2021-06-01T12:00:00Z' },
      '2021-06-01T12:00:00Z',
      '2019-01-01T00:00:00Z',
      'instant + dateTime',
    ],
    [
      'Condition',
      { onsetDateTime: '2019-01-01', recordedDate: '2021-06-01' },
      '2021-06-01T23:59:59Z',
      '2019-01-01T00:00:00Z',
      'onset + recorded',
    ],
    [
      'Condition',
      { recordedDate: '2019-01-01', onsetDateTime: '2021-06-01' },
      '2021-06-01T23:59:59Z',
      '2019-01-01T00:00:00Z',
      'recorded + onset',
    ],
    [
      'Procedure',
      { performedPeriod: { start: '2019-01-01' }, performedDateTime: '2021-06-01' },
      '2021-06-01T23:59:59Z',
      '2019-01-01T00:00:00Z',
      'period + dateTime',
    ],
  ])('%s %j: a registration at the latest, a withdrawal at the earliest', (type, dates, latest, earliest) => {
    const o = { ...dates, status: type === 'Condition' ? undefined : 'final' };
    expect(reg(o, type)).toMatchObject({ kind: 'objection', instant: latest });
    expect(wd(o, type)).toMatchObject({
      kind: 'objection',
      entries: [{ type: 'type2', action: 'withdraw' }],
      instant: earliest,
    });
  });

  it('a period whose start is after its end: a withdrawal refused, a registration at the time received', () => {
    const effectivePeriod = { start: '2021-01-01', end: '2019-01-01' };
    expect(wd({ effectivePeriod })).toMatchObject({ kind: 'rejected' });
    expect((wd({ effectivePeriod }) as { reason: string }).reason).toContain('start is after its end');
    expect(reg({ effectivePeriod })).toMatchObject({ kind: 'objection', instant: RECEIVED });
  });

  it('one odd date among several: a withdrawal refused, a registration at the time received', () => {
    const dates = { effectiveDateTime: '2019-01-01T00:00:00Z', effectiveInstant: 'garbage' };
    expect(wd(dates)).toMatchObject({ kind: 'rejected' });
    expect(reg(dates)).toMatchObject({ kind: 'objection', instant: RECEIVED });
  });
});

describe('the extractor (findings 2 and 3)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'objection-conflicts-'));
  let n = 0;
  async function extract(resources: Json[]) {
    const input = path.join(dir, `in-${++n}.ndjson`);
    const output = path.join(dir, `out-${n}.ndjson`);
    writeFileSync(input, resources.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const report = await runExtractor({ practiceOds: 'A81001', input, output });
    const lines = readFileSync(output, 'utf8').split('\n').filter(Boolean);
    return { report, lines, out: lines.map((l) => JSON.parse(l) as Json) };
  }
  const pa: Json = {
    resourceType: 'Patient',
    id: 'pa',
    identifier: [{ system: NHS, value: '9434765919' }],
    birthDate: '1970-05-05',
    gender: 'male',
    address: [{ postalCode: 'LS6 2QB' }],
  };
  const ca: Json = {
    resourceType: 'Condition',
    id: 'ca',
    subject: { reference: 'Patient/pa' },
    code: coded('22298006', SCT),
    onsetDateTime: '2015-01-01',
  };
  const on = (o: Json) => ({ ...o, subject: { reference: 'Patient/pa' } });

  it.each(CARRIERS('9Nu0'))(
    'a Type 1 withdrawal carrying 9Nu0 in %s: the objector stays at the practice, and the centre reads the objection',
    async (_where, extra) => {
      const { report, out, lines } = await extract([
        pa,
        ca,
        on(entry('9Nu0', { id: 'x1', effectiveDateTime: '2020-01-01T00:00:00Z' })),
        on(entry('9Nu1', { id: 'x2', ...extra })),
      ]);
      expect(report.removed.type1Patients).toBe(1);
      expect(out.filter((r) => r.birthDate !== undefined || r.resourceType === 'Condition')).toEqual([]);
      // Every objection line written reads at the centre as the registration.
      for (const l of lines.filter((x) => x.includes('9Nu1')))
        expect(parseExtractLine(l, 'A81001', TODAY)).toMatchObject({
          kind: 'objection',
          entries: [{ type: 'type1', action: 'register' }],
        });
    },
  );

  it('a Type 2 withdrawal carrying 9Nu4 in a value leaves with 9Nu4 in its code (not stripped away)', async () => {
    const { out, lines } = await extract([
      pa,
      on(entry('9Nu5', { id: 'w2', valueCodeableConcept: coded('9Nu4') })),
    ]);
    const w = out.find((r) => r.id === 'w2')!;
    expect(JSON.stringify(w.code)).toContain('9Nu4');
    expect(parseExtractLine(lines[out.indexOf(w)], 'A81001', TODAY)).toMatchObject({
      kind: 'objection',
      entries: [{ type: 'type2', action: 'register' }],
    });
  });

  it('an objection entry with two effective[x] values is written with one (FHIR R4), the fail-closed one', async () => {
    const dates = { effectiveDateTime: '2019-01-01T00:00:00Z', effectiveInstant: '2021-06-01T12:00:00Z' };
    const { out } = await extract([
      pa,
      on(entry('9Nu4', { id: 'r1', ...dates })),
      on(entry('9Nu5', { id: 'w1', ...dates })),
    ]);
    const written = (id: string) => out.find((r) => r.id === id)!;
    expect(written('r1')).toMatchObject({ effectiveDateTime: '2021-06-01T12:00:00Z' });
    expect(written('w1')).toMatchObject({ effectiveDateTime: '2019-01-01T00:00:00Z' });
    for (const id of ['r1', 'w1']) expect(written(id).effectiveInstant).toBeUndefined();
  });

  it('a Type 1 objection dated by two elements, the later after the withdrawal: the objector does not leave', async () => {
    const { report, out } = await extract([
      pa,
      ca,
      on(
        entry('9Nu0', {
          id: 'x1',
          effectiveDateTime: '2019-01-01T00:00:00Z',
          effectiveInstant: '2021-06-01T12:00:00Z',
        }),
      ),
      on(entry('9Nu1', { id: 'x2', effectiveDateTime: '2020-06-01T10:00:00Z' })),
    ]);
    expect(report.removed.type1Patients).toBe(1);
    expect(out.filter((r) => r.birthDate !== undefined || r.resourceType === 'Condition')).toEqual([]);
  });
});
