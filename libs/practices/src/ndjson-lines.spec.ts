import { Readable } from 'node:stream';
import fc from 'fast-check';
import { Line, LineReader, LineSplitter } from './ndjson-lines';

async function split(chunks: Buffer[], max?: number): Promise<Line[]> {
  const out: Line[] = [];
  for await (const l of Readable.from(chunks).pipe(new LineSplitter(max))) out.push(l as Line);
  return out;
}

describe('LineSplitter', () => {
  it('numbers lines from 1, handles CRLF and a last line without newline', async () => {
    const lines = await split([Buffer.from('a\r\nb'), Buffer.from('c\n\nd')]);
    expect(lines).toEqual([
      { n: 1, text: 'a' },
      { n: 2, text: 'bc' },
      { n: 3, text: '' },
      { n: 4, text: 'd' },
    ]);
  });

  it('discards a line longer than the limit but keeps counting', async () => {
    const lines = await split([Buffer.from('short\n'), Buffer.alloc(50, 'x'), Buffer.from('x\nok')], 20);
    expect(lines).toEqual([
      { n: 1, text: 'short' },
      { n: 2, text: '', tooLong: true },
      { n: 3, text: 'ok' },
    ]);
  });

  it("watches a too-long line's bytes as they are dropped: a pattern anywhere in it, however the input is chunked (an objection on an over-long line was lost)", async () => {
    const watch = (t: string) => /9Nu0/i.test(t);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(60),
        fc.boolean(),
        fc.array(fc.nat(80), { maxLength: 6 }),
        async (at, code, cuts) => {
          const long = Buffer.from('x'.repeat(at) + (code ? '9nU0' : 'NONE') + 'y'.repeat(60 - at));
          const whole = Buffer.concat([Buffer.from('short\n'), long, Buffer.from('\nok\n'), long]);
          const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let from = 0;
          for (const p of [...points, whole.length]) {
            chunks.push(whole.subarray(from, p));
            from = p;
          }
          const lines: Line[] = [];
          for await (const l of Readable.from(chunks.filter((c) => c.length)).pipe(
            new LineSplitter(20, watch),
          ))
            lines.push(l as Line);
          const dropped = code ? { tooLong: true, watched: true } : { tooLong: true };
          expect(lines).toEqual([
            { n: 1, text: 'short' },
            { n: 2, text: '', ...dropped },
            { n: 3, text: 'ok' },
            { n: 4, text: '', ...dropped },
          ]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives the same lines however the input is chunked (UTF-8 split across chunks too)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 8 }), { maxLength: 8 }),
        fc.array(fc.nat(40), { maxLength: 6 }),
        async (raw, cuts) => {
          const lines = raw.map((l) => l.replace(/[\r\n]/g, ''));
          const whole = Buffer.from(lines.join('\n'));
          const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of points) {
            chunks.push(whole.subarray(prev, p));
            prev = p;
          }
          chunks.push(whole.subarray(prev));
          const got = (await split(chunks.filter((c) => c.length))).map((l) => l.text);
          const expected = lines.at(-1) === '' ? lines.slice(0, -1) : lines;
          expect(got).toEqual(expected);
        },
      ),
    );
  });

  it('keeps a line of exactly the limit and refuses one byte more, within a chunk and across', () => {
    for (const chunk of [1000, 3]) {
      const got: [number, string | null][] = [];
      const reader = new LineReader(5, (n, text) => got.push([n, text]));
      const whole = Buffer.from('first\nabcde\nabcdef\néé\nééé\nlast\n');
      for (let i = 0; i < whole.length; i += chunk) reader.write(whole.subarray(i, i + chunk));
      reader.end();
      expect(got).toEqual([
        [1, 'first'],
        [2, 'abcde'],
        [3, null],
        [4, 'éé'],
        [5, null],
        [6, 'last'],
      ]);
    }
  });

  it('refuses exactly the lines of more than the limit in bytes (as they arrived, invalid UTF-8 too), inside one chunk or across chunks', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ unit: 'grapheme', maxLength: 12 }).map((l) => Buffer.from(l.replace(/[\r\n]/g, ''))),
            // Raw bytes: invalid sequences decode to U+FFFD (3 bytes), a stray CR may end a line.
            fc.uint8Array({ maxLength: 14 }).map((b) => Buffer.from(b.filter((x) => x !== 10))),
          ),
          { minLength: 1, maxLength: 10 },
        ),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.nat(200), { maxLength: 6 }),
        (lines, max, cuts) => {
          const whole = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
          const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          const got: [number, string | null][] = [];
          const reader = new LineReader(max, (n, text) => got.push([n, text]));
          let prev = 0;
          for (const p of [...points, whole.length]) {
            if (p > prev) reader.write(whole.subarray(prev, p));
            prev = p;
          }
          reader.end();
          expect(got).toEqual(
            lines.map((l, i) => [i + 1, l.length > max ? null : l.toString('utf8').replace(/\r$/, '')]),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
