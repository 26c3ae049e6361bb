import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import fc from 'fast-check';
import { KM_NODES } from './km-anonymity';
import { CopyStreams, KM_CLASS_LIMITS, kmSearch } from './km-search';
import { readIntRows } from './km-stream';

/** Text split into chunks at the given cut points (COPY's chunks end anywhere). */
const chunks = (text: string, cuts: number[]) => {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, text.length]) {
    out.push(Buffer.from(text.slice(from, c)));
    from = c;
  }
  return out;
};

describe('readIntRows', () => {
  it('property: reads every row whatever the chunk boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.nat({ max: 2 ** 31 }), { minLength: 3, maxLength: 3 }), { maxLength: 50 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (rows, cuts) => {
          const text = rows.map((r) => `${r.join('\t')}\n`).join('');
          const got: number[][] = [];
          await readIntRows(Readable.from(chunks(text, cuts)), 3, (v) => got.push([...v]));
          expect(got).toEqual(rows);
        },
      ),
    );
  });

  it('refuses a row cut short, a byte that is not a digit, and a row of the wrong width', async () => {
    const read = (text: string) => readIntRows(Readable.from([Buffer.from(text)]), 2, () => undefined);
    await expect(read('1\t2\n3')).rejects.toThrow(/mid-row/);
    await expect(read('1\t-2\n')).rejects.toThrow(/byte/);
    await expect(read('1\t2\t3\n')).rejects.toThrow(/row/);
  });
});

/**
 * The definition, written plainly (sets of persons, string keys): per class, the first node whose
 * items of fewer than k persons, then the weakest item of each live set of 2…m items of fewer than
 * k persons, remove no more than the share of the class's rows of each file; the last node else.
 */
function reference(
  base: { cls: number; pn: number; ds: number; t: number; n: number }[],
  itemAt: (node: number, ds: number, t: number) => number,
  fileOf: (item: number) => number,
  k: number,
  m: number,
  maxShare: number,
) {
  const choice: string[] = [];
  const gone: string[] = [];
  const fin = new Set<string>();
  const last = KM_NODES.length - 1;
  for (const cls of [...new Set(base.map((b) => b.cls))]) {
    const rows = base.filter((b) => b.cls === cls);
    const classRows = new Map<number, number>();
    for (const r of rows) classRows.set(r.ds, (classRows.get(r.ds) ?? 0) + r.n);
    for (let node = 0; node <= last; node++) {
      const holders = new Map<number, Set<number>>();
      const itemRows = new Map<number, number>();
      const personItems = new Map<number, Set<number>>();
      for (const r of rows) {
        const it = itemAt(node, r.ds, r.t);
        holders.set(it, (holders.get(it) ?? new Set()).add(r.pn));
        itemRows.set(it, (itemRows.get(it) ?? 0) + r.n);
        personItems.set(r.pn, (personItems.get(r.pn) ?? new Set()).add(it));
      }
      const out = new Set([...holders].filter(([, p]) => p.size < k).map(([it]) => it));
      const fits = () => {
        const removed = new Map<number, number>();
        for (const it of out) removed.set(fileOf(it), (removed.get(fileOf(it)) ?? 0) + itemRows.get(it)!);
        return [...classRows].every(([f, n]) => (removed.get(f) ?? 0) <= Math.floor(n * maxShare));
      };
      if (node < last && !fits()) continue;
      for (let size = 2; size <= m; size++) {
        const counts = new Map<string, number>();
        for (const items of personItems.values()) {
          const live = [...items].filter((i) => !out.has(i)).sort((a, b) => a - b);
          const walk = (from: number, pick: number[]) => {
            if (pick.length === size)
              return counts.set(pick.join(','), (counts.get(pick.join(',')) ?? 0) + 1);
            for (let a = from; a < live.length; a++) walk(a + 1, [...pick, live[a]]);
          };
          walk(0, []);
        }
        const weak = [...counts]
          .filter(([, n]) => n < k)
          .map(([key]) =>
            key
              .split(',')
              .map(Number)
              .reduce((w, i) => {
                const [pw, pi] = [holders.get(w)!.size, holders.get(i)!.size];
                return pi < pw || (pi === pw && i > w) ? i : w;
              }),
          );
        for (const w of weak) out.add(w);
      }
      if (node < last && !fits()) continue;
      choice.push(`${cls}\t${node}`);
      for (const it of out) gone.push(`${cls}\t${it}`);
      for (const r of rows)
        if (out.has(itemAt(node, r.ds, r.t))) fin.add(`${r.pn}\t${itemAt(node, r.ds, r.t)}`);
      break;
    }
  }
  return { choice: choice.sort(), gone: gone.sort(), fin: [...fin].sort() };
}

describe('kmSearch', () => {
  const DEFAULTS = { ...KM_CLASS_LIMITS };
  const lines = (text: string) => text.split('\n').filter(Boolean).sort();

  it('fails as the stream or the COPY back fails, and leaves no spill file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'km-search-'));
    const input = { select: 'SELECT', T: 'x', files: 1, k: 2, m: 2, maxShare: 0.05, spillDir: dir };
    const row = (cls: number) => `${[cls, cls, 0, 1, ...KM_NODES.map((_, i) => 1 + i)].join('\t')}\n`;
    const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
    try {
      // A row cut short by the server.
      await expect(
        kmSearch({ out: () => Readable.from([Buffer.from(row(1) + '2\t2')]), in: sink }, input),
      ).rejects.toThrow(/mid-row/);
      expect(readdirSync(dir)).toEqual([]);
      // The COPY back refused.
      const refusing = () => new Writable({ write: (_c, _e, cb) => cb(new Error('COPY refused')) });
      await expect(
        kmSearch({ out: () => Readable.from([Buffer.from(row(1) + row(2))]), in: refusing }, input),
      ).rejects.toThrow(/COPY refused/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('property: chooses, removes and counts as the definition on random classes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'km-search-'));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            k: fc.integer({ min: 2, max: 4 }),
            m: fc.integer({ min: 1, max: 3 }),
            maxShare: fc.constantFrom(0, 0.05, 0.3, 1),
            // Two files, each with up to 6 tuples; a tuple's item at each node (coarser nodes map
            // tuples onto fewer items, as the ladders do); persons with rows in classes.
            tuples: fc.constantFrom([4, 3], [6, 1], [2, 5]),
            people: fc.array(
              fc.record({
                cls: fc.integer({ min: 1, max: 3 }),
                rows: fc.array(
                  fc.record({
                    ds: fc.integer({ min: 0, max: 1 }),
                    t: fc.nat(),
                    n: fc.integer({ min: 1, max: 3 }),
                  }),
                  { minLength: 1, maxLength: 5 },
                ),
              }),
              { minLength: 1, maxLength: 30 },
            ),
            chunkCuts: fc.array(fc.nat(), { maxLength: 8 }),
            bigRows: fc.constantFrom(1_000_000, 1_000_000, 20),
            bigPairs: fc.constantFrom(4_000_000, 4_000_000, 2),
            bigItems: fc.constantFrom(1_000_000, 1_000_000, 30),
            table: fc.constantFrom(4_000_000, 0),
            // The rows as the stream gives them (a row per event: a person's tuple repeated), and
            // item numbers shared between nodes (the same text at two nodes is one item).
            ungrouped: fc.boolean(),
            shared: fc.boolean(),
            narrow: fc.boolean(),
          }),
          async ({
            k,
            m,
            maxShare,
            tuples,
            people,
            chunkCuts,
            bigRows,
            bigPairs,
            bigItems,
            table,
            narrow,
            ungrouped,
            shared,
          }) => {
            const nodes = KM_NODES.length;
            // Item numbers: per node and file, tuple t maps to group floor(t * (nodes - node) / 6).
            const itemAt = (node: number, ds: number, t: number) =>
              1 + ds * 1000 + (shared ? 0 : node * 10) + Math.floor(((t - 1) * (nodes - node)) / 6);
            const fileOf = (item: number) => Math.floor((item - 1) / 1000);
            const base = new Map<string, { cls: number; pn: number; ds: number; t: number; n: number }>();
            people.forEach((p, pn) => {
              for (const r of p.rows) {
                const t = 1 + (r.t % tuples[r.ds]);
                const key = `${pn + 1}|${r.ds}|${t}`;
                const b = base.get(key);
                if (b) b.n += r.n;
                else base.set(key, { cls: p.cls, pn: pn + 1, ds: r.ds, t, n: r.n });
              }
            });
            const baseRows = [...base.values()].sort((a, b) => a.cls - b.cls || a.pn - b.pn);
            const rows = ungrouped
              ? baseRows.flatMap((b) => Array.from({ length: b.n }, () => ({ ...b, n: 1 })))
              : baseRows;
            // The rows with every node's item, or (narrow) with their tuple and the tuples' items apart.
            const streamed = rows.map((b) =>
              narrow
                ? [b.cls, b.pn, b.ds, b.n, b.t]
                : [b.cls, b.pn, b.ds, b.n, ...KM_NODES.map((_, node) => itemAt(node, b.ds, b.t))],
            );
            const mapRows = KM_NODES.flatMap((_, node) =>
              tuples.flatMap((n, ds) =>
                Array.from({ length: n }, (_, t) => [node, ds, t + 1, itemAt(node, ds, t + 1)]),
              ),
            );
            const written: Record<string, string> = {};
            const copy: CopyStreams = {
              out: (sql) =>
                Readable.from(
                  chunks(
                    (sql.includes('MAP') ? mapRows : streamed).map((r) => `${r.join('\t')}\n`).join(''),
                    chunkCuts,
                  ),
                ),
              in: (sql) => {
                const table = /(_\w+) FROM STDIN/.exec(sql)![1];
                written[table] = '';
                return new Writable({
                  write(chunk: Buffer, _enc, cb) {
                    written[table] += chunk.toString();
                    cb();
                  },
                });
              },
            };
            KM_CLASS_LIMITS.rows = bigRows;
            KM_CLASS_LIMITS.pairs = bigPairs;
            KM_CLASS_LIMITS.sets = bigPairs;
            KM_CLASS_LIMITS.items = bigItems;
            KM_CLASS_LIMITS.table = table;
            const stats = await kmSearch(copy, {
              select: 'SELECT',
              ...(narrow ? { tuples: [...tuples], map: 'MAP' } : {}),
              T: 'x',
              files: 2,
              k,
              m,
              maxShare,
              spillDir: dir,
            });
            // A class over the limits is left out (to the search in SQL); the others as the definition.
            // (A class whose sets or items exceed their limits too: any, when those are low.)
            const byRows = [...new Set(rows.map((b) => b.cls))].filter(
              (cls) => rows.filter((b) => b.cls === cls).length > bigRows,
            );
            if (bigPairs > 1000 && bigItems > 1000) expect(stats.big).toEqual(byRows);
            else expect(stats.big).toEqual(expect.arrayContaining(byRows));
            const big = stats.big;
            const want = reference(
              baseRows.filter((b) => !big.includes(b.cls)),
              itemAt,
              fileOf,
              k,
              m,
              maxShare,
            );
            expect(lines(written._choice)).toEqual(want.choice);
            expect(lines(written._gone)).toEqual(want.gone);
            expect(lines(written._fin)).toEqual(want.fin);
            // The figures: every row counted once, removed rows those of the items gone.
            const total = baseRows.filter((b) => !big.includes(b.cls)).reduce((a, b) => a + b.n, 0);
            expect(stats.rows.reduce((a, b) => a + b, 0)).toBe(total);
            const kept = [...stats.rowsByNode.values()].reduce((a, b) => a + b, 0);
            expect(kept + stats.suppressed.reduce((a, b) => a + b, 0)).toBe(total);
            expect([...stats.classesByNode.values()].reduce((a, b) => a + b, 0)).toBe(want.choice.length);
            // The spill files are gone.
            expect(readdirSync(dir)).toEqual([]);
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      Object.assign(KM_CLASS_LIMITS, DEFAULTS);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
