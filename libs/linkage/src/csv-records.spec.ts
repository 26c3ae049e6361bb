import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { CsvRecords } from './csv-records';

/** Physical line → record, for CSV text of random fields (quotes, doubled quotes, newlines) in random chunks. */
describe('CsvRecords', () => {
  it('property: every physical line, as COPY counts them, maps to the record it belongs to, whatever the line endings and the chunking; blank lines at the end are dropped', async () => {
    const field = fc.oneof(
      fc.stringMatching(/^[a-z0-9 ]{0,6}$/),
      // A line break in a cell as any editor writes it: LF (Excel, in a CRLF file), CRLF or CR.
      fc
        .array(fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', '\r'), { maxLength: 5 })
        .map((v) => `"${v.join('').replace(/"/g, '""')}"`),
    );
    // A row of one empty field is a blank line, which is no record (and at the end is dropped).
    const row = fc.array(field, { minLength: 1, maxLength: 4 }).filter((r) => r.join(',') !== '');
    const rows = fc.array(row, { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(
        rows,
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 30 }),
        fc.nat(3),
        async (body, eol, cuts, blank) => {
          // A header without quotes, as the loaders' headers are: its line ending is the file's.
          const rs = [['EPIKEY', 'DOB'], ...body];
          const text = rs.map((r) => r.join(',')).join(eol) + eol;
          // COPY counts a line at each LF in a file of LF endings, else at each CR (copyfromparse.c).
          const counted = eol === '\n' ? '\n' : '\r';
          const expected: number[] = [];
          rs.forEach((r, i) => {
            const lines = r.join(',').split(counted).length;
            for (let k = 0; k < lines; k++) expected.push(i + 1);
          });
          // Blank lines after the last record (an editor's): no records, not passed on (COPY read each
          // as a row of one empty field and refused the file).
          const bytes = Buffer.from(text + eol.repeat(blank));
          const chunks: Buffer[] = [];
          let at = 0;
          for (const c of cuts) {
            if (at >= bytes.length) break;
            chunks.push(bytes.subarray(at, at + c));
            at += c;
          }
          if (at < bytes.length) chunks.push(bytes.subarray(at));
          const counter = new CsvRecords();
          const out: Buffer[] = [];
          await pipeline(
            Readable.from(chunks),
            counter,
            new Writable({
              write(c, _e, done) {
                out.push(c);
                done();
              },
            }),
          );
          expect(Buffer.concat(out).toString()).toBe(text);
          expected.forEach((record, i) => expect(counter.recordOf(i + 1)).toBe(record));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('CsvRecords: a long run of line endings', () => {
  const through = async (chunks: Buffer[]) => {
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(chunks),
      new CsvRecords(),
      new Writable({
        write(c: Buffer, _e, cb) {
          out.push(c);
          cb();
        },
      }),
    );
    return Buffer.concat(out);
  };

  it('is read in linear time, holding at most 1 MiB (128 MiB of blank lines at the end held the event loop 79 s, quadratic)', async () => {
    const head = Buffer.from('A,B\n1,2\n');
    const blank = Buffer.alloc(64 * 1024, 0x0a);
    const timed = async (chunks: number) => {
      const started = Date.now();
      const out = await through([head, ...Array.from({ length: chunks }, () => blank)]);
      return { ms: Date.now() - started, out };
    };
    // 16 and 64 MiB of blank lines, as a file's 64 KiB reads bring them. Linear: four times the
    // time; quadratic, sixteen. Compared with each other, not with a clock (a loaded machine took
    // 7 s where a bound of 5 s was set: CI, 2026-12-07).
    const quarter = await timed(256);
    const { ms, out } = await timed(1024);
    expect(ms).toBeLessThan(9 * quarter.ms + 1000);
    // More than an editor writes: passed on, for COPY to refuse at its first blank line, as before.
    expect(out.length).toBeGreaterThan(1024 * 1024);
    expect(out.subarray(0, head.length + 1).toString()).toBe('A,B\n1,2\n\n');
  });

  it('a few blank lines at the end, in any chunks, are still dropped; between rows they pass unchanged', async () => {
    const text = 'A,B\r\n1,2\r\n';
    for (const tail of ['\r\n', '\r\n\r\n\r\n', '\r\n'.repeat(40_000)]) {
      const bytes = Buffer.from(text + tail);
      const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) =>
        bytes.subarray(i * 7, i * 7 + 7),
      );
      expect((await through(chunks)).toString()).toBe(text);
    }
    const middle = Buffer.from(`A,B\n1,2\n${'\n'.repeat(3 * 1024 * 1024)}3,4\n`);
    expect(
      (
        await through([middle.subarray(0, 9), middle.subarray(9, 2_000_000), middle.subarray(2_000_000)])
      ).equals(middle),
    ).toBe(true);
  });
});
