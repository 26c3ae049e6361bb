import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { runExtractor } from '@custodian/practices';
import { parseExtractLine } from '../libs/practices/src/fhir';
import { ExtractCommand } from '../apps/cli/src/extract.command';
import {
  condition,
  medication,
  NHS,
  ndjson,
  nhsNumber,
  observation,
  patient,
  READ,
  SCT,
} from './support/fhir';

/**
 * Issue #28 / #19: the extractor recognises an objection in every valid FHIR encoding, decides
 * Type 1 by NHS number, keeps objections with odd dates, and refuses an export whose objection names
 * nobody — never sending the objector. No database: the extractor runs at the practice.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'extractor-objections-'));
let file = 0;

async function extract(resources: unknown[]) {
  const input = path.join(dir, `in-${++file}.ndjson`);
  const output = path.join(dir, `out-${file}.ndjson`);
  writeFileSync(input, ndjson(resources));
  const report = await runExtractor({ practiceOds: 'A81001', input, output });
  const lines = readFileSync(output, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { report, lines };
}

/** What of a patient left: its full Patient record (a marker has no birth date) and its clinical resources. */
function leaked(lines: Record<string, unknown>[], ids: string[], nhs: string) {
  return lines.filter((r) => {
    if (r.resourceType === 'Patient')
      return (
        r.birthDate !== undefined &&
        (ids.includes(r.id as string) || JSON.stringify(r.identifier ?? []).includes(nhs))
      );
    const code = JSON.stringify(r.code ?? r.medicationCodeableConcept ?? {});
    const isObjection = /9Nu[0-5]|827241000000103/.test(code);
    const subject = JSON.stringify(r.subject ?? {});
    return !isObjection && (ids.some((id) => subject.includes(`Patient/${id}`)) || subject.includes(nhs));
  });
}

const t1 = (id: string, subject: object, o: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject,
  code: { coding: [{ system: READ, code: '9Nu0' }] },
  effectiveDateTime: '2020-01-01T10:00:00Z',
  ...o,
});

const n = nhsNumber(910_001);
const record = (id = 'p') => [
  patient(id, n),
  condition(`${id}-c`, id),
  medication(`${id}-m`, id),
  observation(`${id}-o`, id),
];

describe('extractor: objections in any valid FHIR form (#28)', () => {
  it.each([
    ['a versioned reference', { reference: 'Patient/p/_history/3' }, {}],
    ['an absolute reference', { reference: 'https://gp.example.nhs.uk/fhir/Patient/p' }, {}],
    [
      'a versioned absolute reference',
      { reference: 'https://gp.example.nhs.uk/fhir/Patient/p/_history/12' },
      {},
    ],
    ['an NHS-number identifier', { identifier: { system: NHS, value: n } }, {}],
    ['a reference with a display', { reference: 'Patient/p', display: 'Ms P' }, {}],
    [
      'effectivePeriod',
      { reference: 'Patient/p' },
      { effectiveDateTime: undefined, effectivePeriod: { start: '2020-01-01T10:00:00Z' } },
    ],
    [
      'effectivePeriod with an end only',
      { reference: 'Patient/p' },
      { effectiveDateTime: undefined, effectivePeriod: { end: '2020-01-01' } },
    ],
    ['no date at all', { reference: 'Patient/p' }, { effectiveDateTime: undefined }],
    ['a garbage date', { reference: 'Patient/p' }, { effectiveDateTime: 'last Tuesday' }],
    ['a year-month date', { reference: 'Patient/p' }, { effectiveDateTime: '2020-01' }],
    [
      'an offset that makes it tomorrow in local time',
      { reference: 'Patient/p' },
      // A local date one day after today's UTC date, yet an instant in the past.
      { effectiveDateTime: localTomorrow() },
    ],
    [
      'one coding given as an object, not a list',
      { reference: 'Patient/p' },
      { code: { coding: { system: READ, code: '9Nu0' } } },
    ],
    [
      'the objection code second, after another code',
      { reference: 'Patient/p' },
      {
        code: {
          coding: [
            { system: SCT, code: '999999999' },
            { system: READ, code: '9Nu0.' },
          ],
        },
      },
    ],
    [
      'the SNOMED code second, after a Read code that is not an objection',
      { reference: 'Patient/p' },
      {
        code: {
          coding: [
            { system: READ, code: '9N1..' },
            { system: SCT, code: '827241000000103' },
          ],
        },
      },
    ],
  ])('a Type 1 objection with %s keeps the whole record in the practice', async (_what, subject, o) => {
    const { lines, report } = await extract([...record(), t1('p-t1', subject, o)]);
    expect(leaked(lines, ['p'], n)).toEqual([]);
    expect(report.removed.type1Patients).toBe(1);
  });

  it('an objection coded on a Condition, naming the patient by NHS number only, is still an objection', async () => {
    const { lines } = await extract([
      ...record(),
      {
        resourceType: 'Condition',
        id: 'p-t1c',
        subject: { identifier: { system: NHS, value: n } },
        code: { coding: [{ system: READ, code: '9Nu0' }] },
        onsetDateTime: '2020-01-01',
      },
    ]);
    expect(leaked(lines, ['p'], n)).toEqual([]);
  });

  it('a duplicate Patient record with the same NHS number is the same objector (#28 item 3)', async () => {
    const { lines, report } = await extract([
      ...record('p'),
      ...record('p2'),
      t1('p-t1', { reference: 'Patient/p2' }),
    ]);
    expect(leaked(lines, ['p', 'p2'], n)).toEqual([]);
    // One person, one marker, counted once (it counted records: 2); the entry names the person by
    // NHS number alone — it named Patient/p2, whose record does not leave, and the centre listed it
    // as refused while it applied it (a new user's tryout).
    expect(report.removed.type1Patients).toBe(1);
    const entry = lines.find((l) => l.id === 'p-t1')!;
    expect(entry.subject).toEqual({ identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: n } });
    const read = parseExtractLine(JSON.stringify(entry), 'A81001', '2026-06-30');
    expect(read).toMatchObject({ kind: 'objection', subjects: { ids: [], nhsNumbers: [n] } });
  });

  it('a withdrawal on a duplicate record applies to the person, the latest instant deciding', async () => {
    const { lines } = await extract([
      ...record('p'),
      ...record('p2'),
      t1('p-t1', { reference: 'Patient/p' }, { effectiveDateTime: '2020-01-01T10:00:00Z' }),
      t1(
        'p2-w',
        { reference: 'Patient/p2' },
        { code: { coding: [{ system: READ, code: '9Nu1' }] }, effectiveDateTime: '2021-01-01T10:00:00Z' },
      ),
    ]);
    // Withdrawn later: both records leave in full.
    expect(leaked(lines, ['p', 'p2'], n).length).toBe(8);
  });

  it('on an exact tie (to the second, UTC) the objection beats the withdrawal', async () => {
    const { lines } = await extract([
      ...record(),
      t1('p-t1', { reference: 'Patient/p' }, { effectiveDateTime: '2020-01-01T11:00:00+01:00' }),
      t1(
        'p-w',
        { reference: 'Patient/p' },
        { code: { coding: [{ system: READ, code: '9Nu1' }] }, effectiveDateTime: '2020-01-01T10:00:00Z' },
      ),
    ]);
    expect(leaked(lines, ['p'], n)).toEqual([]);
  });

  it('an objection that names no patient refuses the export, with the line (#19 fail closed)', async () => {
    for (const subject of [undefined, { reference: 'Group/g1' }, { display: 'Ms P' }, { reference: '#p' }]) {
      const o = t1('x-t1', subject ?? {});
      if (!subject) delete (o as Record<string, unknown>).subject;
      await expect(extract([...record(), o])).rejects.toThrow(/line 5.*names no patient/);
    }
  });

  it('an objection code in a form that cannot be read refuses the export (an outsider: it left as an ordinary line)', async () => {
    for (const odd of [
      { ...t1('x-t1', { reference: 'Patient/p' }), resourceType: 'Flag' },
      { ...t1('x-t1', { reference: 'Patient/p' }), code: '9Nu0' },
      { ...t1('x-t1', { reference: 'Patient/p' }), code: { coding: [{ system: `${READ}/`, code: '9Nu0' }] } },
    ])
      await expect(extract([...record(), odd])).rejects.toThrow(/line 5.*objection code in a form/);
  });

  it('an objection on a line too long to read (over 16 MiB) refuses the export (it was skipped, and the objector left)', async () => {
    const huge = {
      ...t1('x-t1', { reference: 'Patient/p' }),
      note: [{ text: 'x'.repeat(17 * 1024 * 1024) }],
    };
    await expect(extract([...record(), huge])).rejects.toThrow(
      /line 5: line too long to read, carrying an objection code/,
    );
  });

  it('a byte order mark before an objection line is read past: the objector is removed', async () => {
    const input = path.join(dir, 'bom.ndjson');
    const output = path.join(dir, 'bom-out.ndjson');
    writeFileSync(input, '\ufeff' + ndjson([t1('x-t1', { reference: 'Patient/p' }), ...record()]));
    const report = await runExtractor({ practiceOds: 'A81001', input, output });
    expect(report.removed.type1Patients).toBe(1);
    expect(readFileSync(output, 'utf8')).not.toMatch(/"Condition"|"MedicationStatement"/);
  });

  it('the CLI refuses such an export: exit code 1, the lines and reason printed, nothing written', async () => {
    const input = path.join(dir, 'refused.ndjson');
    const output = path.join(dir, 'refused-out.ndjson');
    writeFileSync(input, ndjson([...record(), t1('x-t1', { reference: 'Group/g1' })]));
    const errors: string[] = [];
    const spy = vi
      .spyOn(console, 'error')
      .mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    const code = process.exitCode;
    try {
      await new ExtractCommand().run([], { practice: 'A81001', input, output });
      expect(process.exitCode).toBe(1);
    } finally {
      spy.mockRestore();
      process.exitCode = code;
    }
    expect(errors.join('\n')).toMatch(
      /not extracted.*line 5: Observation.subject: an objection that names no patient/,
    );
    expect(errors.join('\n')).not.toContain(n);
    expect(existsSync(output)).toBe(false);
  });

  it('odd dates are reported as warnings, never as a reason to send the patient', async () => {
    const { report } = await extract([
      ...record(),
      t1('p-t1', { reference: 'Patient/p' }, { effectiveDateTime: 'garbage' }),
    ]);
    expect((report as unknown as { warnings: { line: number; reason: string }[] }).warnings).toEqual([
      { line: 5, reason: expect.stringMatching(/Observation.effectiveDateTime.*time received/) },
    ]);
  });
});

function localTomorrow(): string {
  // 00:30 on tomorrow's local date at +14:00 is 10:30 UTC today: in the past once UTC passes 10:30.
  // Choose the offset so that the instant is one minute ago whatever the time of day.
  const now = Date.now() - 60_000;
  const utc = new Date(now);
  const tomorrow = new Date(Date.UTC(utc.getUTCFullYear(), utc.getUTCMonth(), utc.getUTCDate() + 1));
  // local time = utc + offset; we want local date = tomorrow → offset ≥ minutes until UTC midnight.
  const toMidnight = Math.ceil((tomorrow.getTime() - now) / 60_000);
  const offset = Math.min(14 * 60, Math.max(toMidnight, 1));
  const local = new Date(now + offset * 60_000);
  const pad = (x: number) => String(x).padStart(2, '0');
  const hh = pad(Math.floor(offset / 60));
  const mm = pad(offset % 60);
  return `${local.toISOString().slice(0, 19)}+${hh}:${mm}`;
}

describe('extractor: property — no encoding lets a Type 1 objector out (#28 item 4)', () => {
  const variants = fc.record({
    ref: fc.constantFrom('plain', 'versioned', 'absolute', 'identifier', 'both'),
    date: fc.constantFrom('dateTime', 'offset', 'period', 'periodEnd', 'missing', 'date', 'garbage'),
    codeSecond: fc.boolean(),
    snomed: fc.boolean(),
    onDuplicate: fc.boolean(),
    duplicate: fc.boolean(),
    withdrawnBefore: fc.boolean(),
  });
  it('never emits a clinical resource or demographics of a Type 1 objector', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(variants, { minLength: 1, maxLength: 4 }),
        fc.nat(5),
        async (objectors, others) => {
          const resources: unknown[] = [];
          const secret: { ids: string[]; nhs: string }[] = [];
          let seed = 920_000;
          for (let i = 0; i < others; i++) resources.push(...withRecord(`o${i}`, nhsNumber(seed++)));
          objectors.forEach((v, i) => {
            const nhs = nhsNumber(seed++);
            const id = `x${i}`;
            const ids = [id];
            resources.push(...withRecord(id, nhs));
            if (v.duplicate) {
              ids.push(`${id}d`);
              resources.push(...withRecord(`${id}d`, nhs));
            }
            const target = v.duplicate && v.onDuplicate ? `${id}d` : id;
            const ref = {
              plain: { reference: `Patient/${target}` },
              versioned: { reference: `Patient/${target}/_history/2` },
              absolute: { reference: `https://gp.example/fhir/Patient/${target}` },
              identifier: { identifier: { system: NHS, value: nhs } },
              both: { reference: `Patient/${target}`, identifier: { system: NHS, value: nhs } },
            }[v.ref];
            const date = {
              dateTime: { effectiveDateTime: '2022-03-04T05:06:07Z' },
              offset: { effectiveDateTime: '2022-03-05T00:30:00+14:00' },
              period: { effectivePeriod: { start: '2022-03-04T05:06:07Z' } },
              periodEnd: { effectivePeriod: { end: '2022-03-04' } },
              missing: {},
              date: { effectiveDateTime: '2022-03-04' },
              garbage: { effectiveDateTime: 'soon' },
            }[v.date];
            const objectionCoding = v.snomed
              ? { system: SCT, code: '827241000000103' }
              : { system: READ, code: '9Nu0' };
            const coding = v.codeSecond
              ? [{ system: SCT, code: '123456789' }, objectionCoding]
              : [objectionCoding];
            if (v.withdrawnBefore)
              resources.push({
                resourceType: 'Observation',
                id: `${id}-w`,
                status: 'final',
                subject: { reference: `Patient/${id}` },
                code: { coding: [{ system: READ, code: '9Nu1' }] },
                effectiveDateTime: '2001-01-01',
              });
            resources.push({
              resourceType: 'Observation',
              id: `${id}-t1`,
              status: 'final',
              subject: ref,
              code: { coding },
              ...date,
            });
            secret.push({ ids, nhs });
          });
          const { lines } = await extract(shuffle(resources, others));
          for (const s of secret) expect(leaked(lines, s.ids, s.nhs)).toEqual([]);
          // Everyone else leaves in full.
          for (let i = 0; i < others; i++) expect(lines.some((r) => r.id === `o${i}-c`)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

function withRecord(id: string, nhs: string) {
  return [patient(id, nhs), condition(`${id}-c`, id), medication(`${id}-m`, id), observation(`${id}-o`, id)];
}

/** A deterministic reordering (objections may come before or after the records they name). */
function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed + 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('extractor: withdrawals fail closed', () => {
  it('a withdrawal whose reference and NHS number name two different people is not applied', async () => {
    const m = nhsNumber(910_002);
    const { lines, report } = await extract([
      ...record('p'),
      patient('q', m),
      t1('p-t1', { reference: 'Patient/p' }, { effectiveDateTime: '2020-01-01T10:00:00Z' }),
      t1(
        'p-w',
        { reference: 'Patient/q', identifier: { system: NHS, value: n } },
        { code: { coding: [{ system: READ, code: '9Nu1' }] }, effectiveDateTime: '2021-01-01T10:00:00Z' },
      ),
    ]);
    expect(leaked(lines, ['p'], n)).toEqual([]);
    expect(report.warnings).toContainEqual({
      line: 7,
      reason: 'subject: a withdrawal naming two patients (not applied)',
    });
  });

  it('a withdrawal without a readable date is not applied (a warning), the objection stands', async () => {
    const { lines, report } = await extract([
      ...record('p'),
      t1('p-t1', { reference: 'Patient/p' }, { effectiveDateTime: '2020-01-01T10:00:00Z' }),
      t1(
        'p-w',
        { reference: 'Patient/p' },
        { code: { coding: [{ system: READ, code: '9Nu1' }] }, effectiveDateTime: 'later' },
      ),
    ]);
    expect(leaked(lines, ['p'], n)).toEqual([]);
    expect(report.warnings).toContainEqual({
      line: 6,
      reason: 'Observation.effectiveDateTime: invalid date (a withdrawal, not applied)',
    });
  });
  it("a withdrawal recorded in error or cancelled withdraws nothing: the Type 1 objector does not leave (an attack on the day's change)", async () => {
    const n = nhsNumber(41_001);
    for (const status of ['entered-in-error', 'cancelled', 'Entered-In-Error']) {
      const { lines } = await extract([
        patient('e1', n),
        condition('ce1', 'e1'),
        t1('te1', { reference: 'Patient/e1' }),
        t1(
          'te1w',
          { reference: 'Patient/e1' },
          {
            status,
            code: { coding: [{ system: READ, code: '9Nu1' }] },
            effectiveDateTime: '2021-01-01T10:00:00Z',
          },
        ),
      ]);
      expect(leaked(lines, ['e1'], n), status).toEqual([]);
    }
  });
});
