import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { CohortLines } from './cohort-lines';

async function run(chunks: string[]) {
  const t = new CohortLines();
  let out = '';
  await pipeline(Readable.from(chunks), t, async function* (src) {
    for await (const c of src) out += c.toString();
    yield* [];
  });
  return { t, out };
}

describe('CohortLines', () => {
  it('keeps valid numbers, skips blanks, reports bad line numbers without the numbers', async () => {
    const { t, out } = await run(['9434765919\r\n\n943 476 ', '5870\n1234567890\nabc\n4010232137']);
    expect(out).toBe('9434765919\n9434765870\n4010232137\n');
    expect(t.received).toBe(5);
    expect(t.badCount).toBe(2);
    expect(t.badLines).toEqual([4, 5]);
    expect(JSON.stringify(t.badLines)).not.toContain('1234567890');
  });

  it('gives the same result however the body is split into chunks', async () => {
    const body = '9434765919\n9434765918\n\n9434765870\r\n4010232137\n';
    const whole = await run([body]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: body.length }), { maxLength: 6 }), async (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks = [0, ...points].map((p, i) => body.slice(p, points[i] ?? body.length)).filter(Boolean);
        const r = await run(chunks);
        return r.out === whole.out && r.t.badLines.join() === whole.t.badLines.join();
      }),
    );
  });
});
