import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { parseBlock } from './staging-block';
import {
  copyValue,
  MAX_LINE_BYTES,
  ParseThread,
  STAGING_COLUMNS,
  StagingRows,
  StreamStats,
} from './staging-rows';
import { RejectedLine, RejectionTally } from './rejections';

const TODAY = '2026-01-15';
const NHS = '9434765919';
/** The compiled worker (`npm test` builds first): the thread exactly as the service runs it. */
const WORKER_SCRIPT = path.resolve('dist/libs/practices/src/staging-worker.js');

const newStats = (): StreamStats => ({
  lines: 0,
  rejected: new RejectionTally(),
  unsupported: 0,
  retracted: 0,
  byField: Object.create(null),
});

async function stage(
  input: Buffer | string,
  opts: { chunk?: number | number[]; thread?: ParseThread } = {},
): Promise<{
  text: string;
  rows: string[][];
  stats: Omit<StreamStats, 'rejected'> & { rejected: RejectedLine[] };
}> {
  const stats = newStats();
  const whole = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const chunks: Buffer[] = [];
  if (Array.isArray(opts.chunk)) {
    let prev = 0;
    for (const p of [...opts.chunk, whole.length]) {
      if (p > prev) chunks.push(whole.subarray(prev, p));
      prev = Math.max(prev, p);
    }
  } else
    for (let i = 0; i < whole.length; i += opts.chunk ?? 7)
      chunks.push(whole.subarray(i, i + (opts.chunk ?? 7)));
  let text = '';
  await pipeline(
    Readable.from(chunks),
    new StagingRows('A81001', TODAY, stats, opts.thread),
    new Writable({
      write(c: Buffer, _e, done) {
        text += c.toString();
        done();
      },
    }),
  );
  return {
    text,
    rows: text
      .split('\n')
      .filter(Boolean)
      .map((r) => r.split('\t')),
    stats: { ...stats, rejected: stats.rejected.lines() },
  };
}

/** Reads a COPY text value back (the inverse of copyValue). */
const unCopy = (v: string) =>
  v === '\\N' ? null : v.replace(/\\(.)/g, (_m, c: string) => ({ t: '\t', n: '\n', r: '\r' })[c] ?? c);

const patientLine = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    resourceType: 'Patient',
    id,
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS }],
    name: [{ family: 'Gone' }],
    birthDate: '1970-02-03',
    gender: 'female',
    address: [{ line: ['1 High St'], postalCode: 'ls1 4ab' }],
    ...extra,
  });
const eventLine = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    resourceType: 'Observation',
    id,
    status: 'final',
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '27113001', display: 'weight' }] },
    effectiveDateTime: '2020-05-06T10:00:00Z',
    valueQuantity: { value: 71.5, unit: 'kg' },
    ...extra,
  });

describe('StagingRows', () => {
  let thread: ParseThread;
  beforeAll(() => {
    thread = new ParseThread(WORKER_SCRIPT);
  });
  afterAll(() => thread.close());

  it('writes one row per kept line, with every staging column in order, and counts the rest', async () => {
    const lines = [
      patientLine('p1'),
      '',
      eventLine('o1'),
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
      // An objection entry's id is its key (objection-key.ts): type, id and dates, hashed.
      expect.objectContaining({
        line: '4',
        kind: 'O',
        id: expect.stringMatching(/^[0-9a-f]{64}$/),
        subject: 'p1',
        event_date: '2021-01-01',
      }),
    ]);
    expect(named[0]).toMatchObject({ birth_date: '1970-02-03', sex: 'F', postcode: 'LS1 4AB', code: null });
    expect(named[1]).toMatchObject({
      code_system: 'snomed',
      code: '27113001',
      value: '71.5 kg',
      obj_type: null,
    });
    expect(named[2]).toMatchObject({
      obj_type: 'type1',
      obj_action: 'register',
      obj_at: '2021-01-01T23:59:59Z',
      code: null,
    });
    expect(stats.lines).toBe(7);
    expect(stats.unsupported).toBe(1);
    expect(stats.rejected).toEqual([
      { line: 6, reason: 'malformed JSON' },
      { line: 7, reason: 'Condition.code: code missing' },
    ]);
    expect(stats.byField).toEqual({
      name: 1,
      'address.line': 1,
      'code.coding.display': 1,
      'ignored:Observation.status': 1,
    });
  });

  it('gives the same rows, in line order, and the same counts on one thread or two, however the bytes arrive', async () => {
    const line = fc.oneof(
      fc.constantFrom('', '   ', '{', '[1]', '{"resourceType":"Encounter","id":"x","note":1}'),
      fc.string({ maxLength: 12 }).map((id) => patientLine(`p${id.replace(/[^A-Za-z0-9]/g, '')}`)),
      fc.record({ id: fc.stringMatching(/^[a-z0-9]{1,8}$/), v: fc.double(), d: fc.date() }).map((r) =>
        eventLine(r.id, {
          valueQuantity: { value: r.v, unit: 'kg' },
          effectiveDateTime: Number.isNaN(r.d.getTime()) ? 'x' : r.d.toISOString(),
        }),
      ),
      fc
        .string({ unit: 'grapheme', maxLength: 20 })
        .map((s) => JSON.stringify({ resourceType: 'Patient', id: s })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 40 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.array(fc.nat(6000), { maxLength: 8 }),
        async (lines, eol, trailing, cuts) => {
          const text = lines.join(eol) + (trailing ? eol : '');
          const whole = Buffer.from(text);
          const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          // The reference: the whole input as one block on this thread.
          const ref = parseBlock(whole, 1, 'A81001', TODAY);
          for (const t of [undefined, thread]) {
            const got = await stage(whole, { chunk: points, thread: t });
            expect(got.text).toBe(ref.rows);
            expect(got.stats.rejected).toEqual(ref.rejected);
            expect(got.stats.unsupported).toBe(ref.unsupported);
            expect({ ...got.stats.byField }).toEqual({ ...ref.byField });
            const expectedLines = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
            expect(got.stats.lines).toBe(expectedLines);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a line longer than the limit, whether it arrives in one piece or many', async () => {
    // Over twice the limit, so that it overflows while held, before its end arrives.
    const long = eventLine('big', { note: 'x'.repeat(2 * MAX_LINE_BYTES) });
    const text = `${patientLine('p1')}\n${long}\n${eventLine('o1')}\n${long}`;
    for (const chunk of [64 * 1024, text.length + 1]) {
      for (const t of [undefined, thread]) {
        const { rows, stats } = await stage(text, { chunk, thread: t });
        expect(rows.map((r) => r[2])).toEqual(['p1', 'o1']);
        expect(stats.rejected).toEqual([
          { line: 2, reason: `line longer than ${MAX_LINE_BYTES} bytes` },
          { line: 4, reason: `line longer than ${MAX_LINE_BYTES} bytes` },
        ]);
        expect(stats.lines).toBe(4);
      }
    }
  });

  it('refuses the whole extract for a line too long to read that carries an objection code, however it arrives (it was refused alone and the objector stored)', async () => {
    const objector = JSON.stringify({
      resourceType: 'Observation',
      id: 'x1',
      status: 'final',
      subject: { reference: 'Patient/p1' },
      code: { coding: [{ system: 'http://read.info/readv2', code: '9Nu0' }] },
      effectiveDateTime: '2020-01-01T10:00:00Z',
      note: [{ text: 'y'.repeat(MAX_LINE_BYTES + 10) }],
    });
    // The code early in the line (dropped while held) and at its very end (in the chunk that ends it).
    const late = `{"note":"${'y'.repeat(MAX_LINE_BYTES + 10)}","code":"9Nu0"}`;
    for (const long of [objector, late]) {
      const text = `${patientLine('p1')}\n${eventLine('o1')}\n${long}\n${eventLine('o2')}\n`;
      for (const chunk of [64 * 1024, 1000, text.length + 1]) {
        for (const t of [undefined, thread]) {
          const err = await stage(text, { chunk, thread: t }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, `chunk ${chunk}`).toMatchObject({
            code: 'EXTRACT_OBJECTION_UNRESOLVED',
            details: {
              unresolved: [
                {
                  line: 3,
                  reason: `line longer than ${MAX_LINE_BYTES} bytes, carrying an objection code: it cannot be read, and may be an objection`,
                },
              ],
            },
          });
        }
      }
    }
  });

  it('parses on the thread while it has room, and on the request thread otherwise', async () => {
    const text = Array.from({ length: 400 }, (_, i) => eventLine(`o${i}`)).join('\n');
    const spy = vi.spyOn(thread, 'parse');
    try {
      const { rows } = await stage(text, { chunk: 4096, thread });
      expect(rows).toHaveLength(400);
      expect(spy.mock.calls.length).toBeGreaterThan(0);
      expect(spy.mock.calls.length).toBeLessThan(Math.ceil(text.length / 4096));
    } finally {
      spy.mockRestore();
    }
  });

  it('cuts a whole upload given as one chunk into blocks for both threads, with the same rows', async () => {
    const lines = Array.from({ length: 4000 }, (_, i) => (i % 700 === 5 ? '{broken' : eventLine(`o${i}`)));
    const text = `${lines.join('\n')}\n`;
    const ref = parseBlock(Buffer.from(text), 1, 'A81001', TODAY);
    const spy = vi.spyOn(thread, 'parse');
    try {
      const got = await stage(text, { chunk: text.length, thread });
      expect(Buffer.byteLength(text)).toBeGreaterThan(3 * 256 * 1024);
      // Several blocks of at most 256 KiB each, not one block of the whole megabyte.
      expect(spy.mock.calls.length).toBeGreaterThan(1);
      expect(spy.mock.calls.every(([bytes]) => bytes.length <= 256 * 1024)).toBe(true);
      expect(got.text).toBe(ref.rows);
      expect(got.stats.rejected).toEqual(ref.rejected);
      expect(got.stats.lines).toBe(4000);
    } finally {
      spy.mockRestore();
    }
  });

  it('fails the upload (never a partial one) when the parse thread dies, and starts a new one next time', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parse-thread-'));
    const script = path.join(dir, 'dies.js');
    writeFileSync(
      script,
      `require('node:worker_threads').parentPort.once('message', () => process.exit(3));`,
    );
    const dying = new ParseThread(script);
    const text = Array.from({ length: 200 }, (_, i) => eventLine(`o${i}`)).join('\n');
    await expect(stage(text, { chunk: 2048, thread: dying })).rejects.toThrow('parse thread exited (3)');
    await expect(stage(text, { chunk: 2048, thread: dying })).rejects.toThrow('parse thread exited (3)');
    await dying.close();
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
