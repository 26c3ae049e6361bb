import fc from 'fast-check';
import { ageBand, chooseNode, closestMiss, NodeStats, withinBudget } from './k-anonymity';
import { parseRange } from './http-range';

describe('k-anonymity node choice', () => {
  /** A node of one file (`gp`). */
  const one = (age: number, area: number, ethnicity: number, suppressed: number): NodeStats => ({
    age,
    area,
    ethnicity,
    suppressed,
    suppressedByFile: { gp: suppressed },
  });

  it('takes the least generalised node within the suppression budget', () => {
    const stats: NodeStats[] = [one(0, 0, 0, 50), one(1, 0, 0, 4), one(0, 1, 0, 2), one(3, 2, 2, 0)];
    expect(chooseNode(stats, { gp: 100 }, 0.05)).toMatchObject({
      age: 0,
      area: 1,
      suppressed: 2,
      levels: { area: 'region' },
    });
    expect(chooseNode(stats, { gp: 100 }, 0)).toMatchObject({ age: 3, area: 2, ethnicity: 2 });
    expect(chooseNode(stats.slice(0, 3), { gp: 10 }, 0.05)).toBeUndefined();
  });

  it('the budget is per file: a small file losing more than its share breaks the node, whatever the pool', () => {
    // 6 of 420 pooled (1.4%), but 3 of 20 social-care persons (15%).
    const node: NodeStats = {
      age: 0,
      area: 0,
      ethnicity: 0,
      suppressed: 6,
      suppressedByFile: { gp: 3, social_care: 3 },
    };
    const populations = { gp: 400, social_care: 20 };
    expect(withinBudget(node, populations, 0.05)).toBe(false);
    expect(chooseNode([node], populations, 0.05)).toBeUndefined();
    expect(closestMiss([node], populations)).toEqual({ file: 'social_care', suppressed: 3, population: 20 });
    expect(chooseNode([node], { gp: 400, social_care: 60 }, 0.05)).toMatchObject({ suppressed: 6 });
  });

  it('property: the choice keeps every file within budget and no qualifying node is less generalised', () => {
    const node = fc.record({
      age: fc.integer({ min: 0, max: 3 }),
      area: fc.integer({ min: 0, max: 3 }),
      ethnicity: fc.integer({ min: 0, max: 2 }),
      suppressedByFile: fc.record({
        gp: fc.integer({ min: 0, max: 100 }),
        hes: fc.integer({ min: 0, max: 20 }),
      }),
    });
    const pops = fc.record({ gp: fc.integer({ min: 1, max: 1000 }), hes: fc.integer({ min: 0, max: 200 }) });
    fc.assert(
      fc.property(fc.array(node, { maxLength: 48 }), pops, (raw, populations) => {
        const stats: NodeStats[] = raw.map((s) => ({
          ...s,
          suppressed: s.suppressedByFile.gp + s.suppressedByFile.hes,
        }));
        const c = chooseNode(stats, populations, 0.05);
        const fits = (s: NodeStats) =>
          s.suppressedByFile.gp <= Math.floor(populations.gp * 0.05) &&
          s.suppressedByFile.hes <= Math.floor(populations.hes * 0.05);
        const ok = stats.filter(fits);
        if (!c) {
          expect(ok).toEqual([]);
          return;
        }
        expect(fits(c)).toBe(true);
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
