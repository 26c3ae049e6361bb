import fc from 'fast-check';
import { PRIMARY_MAX, protectCells, roundToBase, shownCount, shownCountText } from './disclosure-control';

describe('aggregate disclosure control', () => {
  it('suppresses 1-7, rounds the rest to the nearest 5', () => {
    const out = protectCells([
      { key: ['F'], count: 3 },
      { key: ['M'], count: 12 },
      { key: ['U'], count: 40 },
    ]);
    // 3 is primary-suppressed; alone in its group, so the next smallest (12) goes too.
    expect(out.map((c) => c.shown)).toEqual(['*', '*', 40]);
    expect(out.map((c) => c.suppressed)).toEqual(['primary', 'secondary', null]);
    expect(
      protectCells([
        { key: ['F'], count: 8 },
        { key: ['M'], count: 13 },
      ]).map((c) => c.shown),
    ).toEqual([10, 15]);
    expect(roundToBase(12)).toBe(10);
  });

  it('secondary suppression in two dimensions protects rows and columns', () => {
    const cells = [
      { key: ['F', '20-24'], count: 2 },
      { key: ['F', '25-29'], count: 30 },
      { key: ['M', '20-24'], count: 50 },
      { key: ['M', '25-29'], count: 60 },
    ];
    const out = protectCells(cells);
    expect(out.filter((c) => c.shown === '*').length).toBe(4);
  });

  const cellsArb = fc
    .array(
      fc.record({
        a: fc.constantFrom('F', 'M', 'U'),
        b: fc.constantFrom('0-4', '5-9', '10-14', '15-19'),
        c: fc.constantFrom('2012', '2013'),
        count: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 200 })),
      }),
      { maxLength: 24 },
    )
    .map((rows) => {
      const seen = new Map<string, { key: string[]; count: number }>();
      for (const r of rows) seen.set(`${r.a}|${r.b}|${r.c}`, { key: [r.a, r.b, r.c], count: r.count });
      return [...seen.values()];
    });

  it('property: no shown cell in 1-7, every shown count a multiple of 5, no lone suppressed cell in a group', () => {
    fc.assert(
      fc.property(cellsArb, fc.integer({ min: 1, max: 3 }), (cells, dims) => {
        const projected = dedupe(cells.map((c) => ({ key: c.key.slice(0, dims), count: c.count })));
        const out = protectCells(projected);
        expect(out).toHaveLength(projected.length);
        for (const c of out) {
          if (c.shown === '*') continue;
          expect(c.shown % 5).toBe(0);
          expect(c.shown >= 1 && c.shown <= PRIMARY_MAX).toBe(false);
        }
        for (const [i, c] of projected.entries())
          if (c.count >= 1 && c.count <= PRIMARY_MAX) expect(out[i].shown).toBe('*');
        for (let d = 0; d < dims; d++) {
          const groups = new Map<string, number[]>();
          out.forEach((c, i) => {
            const k = JSON.stringify(c.key.filter((_, j) => j !== d));
            groups.set(k, [...(groups.get(k) ?? []), i]);
          });
          for (const g of groups.values())
            if (g.length >= 2) expect(g.filter((i) => out[i].shown === '*').length).not.toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: cells the differencing guard hides stay hidden, and no group is left with one hidden cell (#25)', () => {
    fc.assert(
      fc.property(cellsArb, fc.integer({ min: 1, max: 3 }), fc.array(fc.nat(23)), (cells, dims, picks) => {
        const projected = dedupe(cells.map((c) => ({ key: c.key.slice(0, dims), count: c.count })));
        const hide = new Set(picks.filter((i) => i < projected.length));
        const without = protectCells(projected);
        // As the guard calls it: what was hidden without it stays hidden (secondary suppression is
        // greedy, and would otherwise be free to pick other cells).
        without.forEach((c, i) => c.suppressed && hide.add(i));
        const out = protectCells(projected, hide);
        for (const i of hide) expect(out[i].shown).toBe('*');
        // Hiding more never shows a cell hidden without it.
        out.forEach((c, i) => without[i].shown === '*' && expect(c.shown).toBe('*'));
        for (const [i, c] of out.entries())
          if (hide.has(i))
            expect(c.suppressed).toBe(projected[i].count > PRIMARY_MAX ? 'differencing' : 'primary');
        for (let d = 0; d < dims; d++) {
          const groups = new Map<string, number[]>();
          out.forEach((c, i) => {
            const k = JSON.stringify(c.key.filter((_, j) => j !== d));
            groups.set(k, [...(groups.get(k) ?? []), i]);
          });
          for (const g of groups.values())
            if (g.length >= 2) expect(g.filter((i) => out[i].shown === '*').length).not.toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

function dedupe(cells: { key: string[]; count: number }[]) {
  const m = new Map<string, { key: string[]; count: number }>();
  for (const c of cells) m.set(JSON.stringify(c.key), c);
  return [...m.values()];
}

describe('counts of persons shown to researchers', () => {
  it('follow the aggregate rule: 1-7 hidden, the rest rounded to the nearest 5; 0 is 0', () => {
    expect([0, 1, 3, 7, 8, 12, 63, 83].map(shownCount)).toEqual([0, '*', '*', '*', 10, 10, 65, 85]);
    expect([0, 3, 8, 83].map(shownCountText)).toEqual(['0', 'fewer than 8', '10', '85']);
  });

  it('property: never a number from 1 to 7, always within 2 of the exact count or hidden', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (n) => {
        const shown = shownCount(n);
        if (shown === '*') expect(n >= 1 && n <= PRIMARY_MAX).toBe(true);
        else {
          expect(shown % 5).toBe(0);
          expect(shown >= 1 && shown <= PRIMARY_MAX).toBe(false);
          expect(Math.abs(shown - n)).toBeLessThanOrEqual(2);
        }
        expect(shownCountText(n)).not.toMatch(/^[1-7]$/);
      }),
    );
  });
});
