import fc from 'fast-check';
import { ageBand, chooseNode, NodeStats } from './k-anonymity';
import { parseRange } from './http-range';

describe('k-anonymity node choice', () => {
  it('takes the least generalised node within the suppression budget', () => {
    const stats: NodeStats[] = [
      { age: 0, area: 0, ethnicity: 0, suppressed: 50 },
      { age: 1, area: 0, ethnicity: 0, suppressed: 4 },
      { age: 0, area: 1, ethnicity: 0, suppressed: 2 },
      { age: 3, area: 3, ethnicity: 2, suppressed: 0 },
    ];
    expect(chooseNode(stats, 100, 0.05)).toMatchObject({
      age: 0,
      area: 1,
      suppressed: 2,
      levels: { area: 'postcode_area' },
    });
    expect(chooseNode(stats, 100, 0)).toMatchObject({ age: 3, area: 3, ethnicity: 2 });
    expect(chooseNode(stats.slice(0, 3), 10, 0.05)).toBeUndefined();
  });

  it('property: the choice is within budget and no qualifying node is less generalised', () => {
    const node = fc.record({
      age: fc.integer({ min: 0, max: 3 }),
      area: fc.integer({ min: 0, max: 3 }),
      ethnicity: fc.integer({ min: 0, max: 2 }),
      suppressed: fc.integer({ min: 0, max: 100 }),
    });
    fc.assert(
      fc.property(fc.array(node, { maxLength: 48 }), fc.integer({ min: 1, max: 1000 }), (stats, pop) => {
        const c = chooseNode(stats, pop, 0.05);
        const ok = stats.filter((s) => s.suppressed <= Math.floor(pop * 0.05));
        if (!c) {
          expect(ok).toEqual([]);
          return;
        }
        expect(c.suppressed).toBeLessThanOrEqual(pop * 0.05);
        const h = (s: NodeStats) => s.age + s.area + s.ethnicity;
        for (const s of ok) expect(h(s)).toBeGreaterThanOrEqual(h(c));
      }),
    );
  });

  it('age bands widen along the ladder', () => {
    expect([0, 1, 2, 3].map((l) => ageBand(43, l))).toEqual(['40-44', '40-49', '40-59', '*']);
  });
});

describe('HTTP ranges', () => {
  it('parses single ranges and refuses unsatisfiable ones', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=95-200', 100)).toEqual({ start: 95, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
  });
});
