import fc from 'fast-check';
import {
  addDroppedFields,
  MAX_FIELD_NAMES,
  MAX_LISTED_REJECTIONS,
  MAX_REASONS,
  OTHER_FIELDS,
  OTHER_REASONS,
  RejectionTally,
} from './rejections';

describe('RejectionTally: bounded, whatever an upload holds', () => {
  it('lists the lowest line numbers, counts every line by reason, and never holds more than a bounded number', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ line: fc.integer({ min: 1, max: 10_000 }), reason: fc.constantFrom('a', 'b', 'c') }),
          {
            maxLength: 3000,
          },
        ),
        fc.array(
          fc.record({
            reason: fc.constantFrom('a', 'd'),
            lines: fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { maxLength: 50 }),
          }),
          { maxLength: 5 },
        ),
        (streamed, counted) => {
          const t = new RejectionTally();
          for (const r of streamed) t.add(r.line, r.reason);
          let all: { line: number; reason: string }[] = streamed.map((r) => ({
            line: r.line,
            reason: r.reason,
          }));
          for (const c of counted) {
            const lowest = [...c.lines].sort((a, b) => a - b).slice(0, 10);
            t.addCounted(c.reason, c.lines.length, lowest);
            all = all.concat(lowest.map((line) => ({ line, reason: c.reason })));
          }
          const total = streamed.length + counted.reduce((a, c) => a + c.lines.length, 0);
          expect(t.total).toBe(total);
          expect(Object.values(t.byReason).reduce((a, b) => a + b, 0)).toBe(total);
          const listed = t.lines();
          expect(listed.length).toBe(Math.min(MAX_LISTED_REJECTIONS, all.length));
          expect(listed.map((r) => r.line)).toEqual(
            all
              .map((r) => r.line)
              .sort((a, b) => a - b)
              .slice(0, MAX_LISTED_REJECTIONS),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it('two million refused lines with a million distinct reasons: a thousand listed, at most 101 reasons named', () => {
    const t = new RejectionTally();
    for (let i = 1; i <= 2_000_000; i++) t.add(i, `reason ${i % 1_000_000}`);
    expect(t.total).toBe(2_000_000);
    expect(t.lines()).toHaveLength(MAX_LISTED_REJECTIONS);
    expect(t.lines()[0]).toEqual({ line: 1, reason: 'reason 1' });
    expect(Object.keys(t.byReason).length).toBe(MAX_REASONS + 1);
    expect(t.byReason[OTHER_REASONS]).toBe(2_000_000 - 2 * MAX_REASONS);
  });

  it('dropped field names: at most MAX_FIELD_NAMES named, the rest counted together', () => {
    const into: Record<string, number> = Object.create(null);
    for (let b = 0; b < 100; b++) {
      const block: Record<string, number> = Object.create(null);
      for (let k = 0; k < 1000; k++) block[`k${b}-${k}`] = 1;
      addDroppedFields(into, block);
    }
    expect(Object.keys(into).length).toBe(MAX_FIELD_NAMES + 1);
    expect(Object.values(into).reduce((a, b) => a + b, 0)).toBe(100_000);
    expect(into[OTHER_FIELDS]).toBe(100_000 - MAX_FIELD_NAMES);
  });
});
