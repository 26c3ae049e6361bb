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
