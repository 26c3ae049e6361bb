/**
 * The kᵐ search, one demographic class at a time in the worker (km-anonymise.ts runs it; the same
 * search in SQL, km-round.ts, is the reference a test compares it with, and searches the classes
 * too large for this one's memory). Each class's choice depends on that class's rows only (local
 * recoding: its own node, its own items gone, its own budget per file), so the event rows the files
 * will carry are read once through COPY, in class and person order, each with its tuple (whose item
 * at every node is held for the whole release while that fits `KM_CLASS_LIMITS.map`) or with its
 * item at every node; each class is searched in memory once its last row is read, so memory holds
 * one class. At 1M persons with 10M events the search in SQL made a pass over the person-tuples per
 * node and joined every person's pairs (~240 s of a ~400 s release: docs/BENCHMARKS.md); here a
 * class's pairs are counted in a small square table.
 *
 * What is written back — the node each class takes (`_choice`), the items gone for it (`_gone`)
 * and the (person, item) of each row removed (`_fin`) — goes through spill files in the release's
 * build directory and COPY after the read (the connection is busy with the COPY out while the
 * search runs), so that memory stays flat whatever the number of removals.
 */
import { createReadStream, rmSync } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KM_NODES } from './km-anonymity';
import { ClassRows, Grow, readIntRows, Spill } from './km-stream';

/** COPY on the preparation's own connection (its transaction, where the scratch tables live). */
export interface CopyStreams {
  out(sql: string): Readable;
  in(sql: string): Writable;
}

/**
 * What the search may hold: a class's event rows and distinct items, the (person, pair) entries
 * sorted where the square table (`table` cells) would be too large, the distinct sets of 3 (m = 3),
 * and, for the whole release, the (tuple, node) items (`map`), so that the rows need carry only their
 * tuple: a narrower sort and read (at 1M persons, ~11 s against ~22 s to sort the rows with every
 * node's item, measured by hand). At these limits the arrays take ~70 MB at most (the benchmark's
 * classes a few MB); a class over any of them is left to the search in SQL (`big`), and rows over
 * `map` carry every node's item. Tests lower them.
 */
export const KM_CLASS_LIMITS = {
  rows: 200_000,
  items: 250_000,
  pairs: 1_000_000,
  table: 1_000_000,
  sets: 100_000,
  map: 4_000_000,
};

export interface KmSearchStats {
  classesByNode: Map<number, number>;
  /** Per file number: rows, rows removed, rows kept generalised; per node and period: rows kept. */
  rows: number[];
  suppressed: number[];
  generalised: number[];
  /** Per file number: persons who lose every row of the file (all their items gone). */
  emptied: number[];
  rowsByNode: Map<number, number>;
  periodRows: Map<number, number>;
  /** Nodes some class counted (a class counts the nodes up to the one it takes). */
  passes: number;
  /** Classes over `KM_CLASS_LIMITS`, not searched here. */
  big: number[];
}

export interface KmSearchInput {
  /**
   * The persons' event rows in class and person order: class, person number, file number, rows,
   * then the row's item at each node of `KM_NODES` — or, with `tuples`, the row's tuple number
   * (1…n within its file), whose items `map` gives (km-anonymise.ts writes both).
   */
  select: string;
  /** Tuples per file, when the rows carry their tuple: `map` selects (node, file, tuple, item). */
  tuples?: number[];
  map?: string;
  /** Scratch tables' prefix: `_choice`, `_gone`, `_fin` are filled. */
  T: string;
  files: number;
  k: number;
  m: number;
  maxShare: number;
  /** Where the spill files go (removed afterwards). */
  spillDir: string;
}

/**
 * Searches every class within `KM_CLASS_LIMITS`, writes `_choice`, `_gone` and `_fin` for them,
 * and returns the figures the stage reports and the classes left to the search in SQL. The choice
 * is the reference's: per class, the first node of `KM_NODES` whose items of fewer than k persons
 * (m = 1), and then the least supported item (ties: the greater item) of each set of 2…m items
 * still live carried by fewer than k persons, remove no more than `maxShare` of the class's rows
 * of each file; the last node takes the class whatever it costs.
 */
export async function kmSearch(copy: CopyStreams, input: KmSearchInput): Promise<KmSearchStats> {
  const { T, k, m, maxShare, files } = input;
  const nodes = KM_NODES.length;
  const last = nodes - 1;
  const stats: KmSearchStats = {
    classesByNode: new Map(),
    rows: new Array<number>(files).fill(0),
    suppressed: new Array<number>(files).fill(0),
    generalised: new Array<number>(files).fill(0),
    emptied: new Array<number>(files).fill(0),
    rowsByNode: new Map(),
    periodRows: new Map(),
    passes: 0,
    big: [],
  };
  const add = (map: Map<number, number>, key: number, n: number) => map.set(key, (map.get(key) ?? 0) + n);
  // The spill files, opened in the `try` below (each one opened is closed and removed).
  const opened: Spill[] = [];
  const open = (name: string) => {
    const s = new Spill(path.join(input.spillDir, name));
    opened.push(s);
    return s;
  };
  let spill: Record<'choice' | 'gone' | 'fin', Spill>;
  const c = new ClassRows(nodes, files);
  const keys = new Grow();
  const live = new Grow();
  const liveStart = new Grow();

  /** Searches the class read (`c`); false when it is over the limits (left to SQL). */
  const searchClass = (): boolean => {
    const L = c.global.length;
    const persons = new Int32Array(L);
    const rowsOf = new Float64Array(L);
    const seenBy = new Int32Array(L);
    const gone = new Uint8Array(L);
    const denseOf = new Int32Array(L);
    const P = c.pns.n;
    const removed = new Array<number>(files);
    const budget = c.rows.map((n) => Math.floor(n * maxShare));
    let within = true;
    /** An item gone for the class; false once some file's removals are over its budget. */
    const drop = (it: number) => {
      if (gone[it]) return within;
      gone[it] = 1;
      removed[c.fileOf[it]] += rowsOf[it];
      if (removed[c.fileOf[it]] > budget[c.fileOf[it]]) within = false;
      return within;
    };
    // The least supported item of a set (ties: the greater global number, as the reference).
    const weaker = (a: number, b: number) =>
      persons[a] < persons[b] || (persons[a] === persons[b] && c.global[a] > c.global[b]) ? a : b;
    for (let node = 0; node <= last; node++) {
      stats.passes = Math.max(stats.passes, node + 1);
      // m = 1: persons and rows per item; items of fewer than k persons gone.
      persons.fill(0);
      rowsOf.fill(0);
      seenBy.fill(0);
      gone.fill(0);
      removed.fill(0);
      within = true;
      for (let p = 0; p < P; p++)
        for (let r = c.start.a[p]; r < c.end(p); r++) {
          const it = c.item.a[r * nodes + node];
          rowsOf[it] += c.n.a[r];
          if (seenBy[it] !== p + 1) {
            seenBy[it] = p + 1;
            persons[it]++;
          }
        }
      for (let i = 0; i < L; i++) if (persons[i] > 0 && persons[i] < k) drop(i);
      // Sets only remove more: a node over budget at m = 1 is over it (but the last).
      const stop = () => !within && node < last;
      if (stop()) continue;
      for (let size = 2; size <= m && !stop(); size++) {
        // Each person's live items (distinct), in `live` from `liveStart[p]`.
        live.n = liveStart.n = 0;
        seenBy.fill(0);
        for (let p = 0; p < P; p++) {
          liveStart.push(live.n);
          for (let r = c.start.a[p]; r < c.end(p); r++) {
            const it = c.item.a[r * nodes + node];
            if (gone[it] || seenBy[it] === p + 1) continue;
            seenBy[it] = p + 1;
            live.push(it);
          }
        }
        liveStart.push(live.n);
        // Every small set is found before any is removed (removals are decided on the live items).
        // Each small set's weakest item leaves as it is found: the sets were counted on the live
        // items first, and the weakest depends on the items' persons only, so the order is free.
        const weak = (set: number[]) => {
          drop(set.reduce(weaker));
          return !stop();
        };
        if (!(size === 2 ? pairs(P, persons, denseOf.fill(-1), weak) : sets(size, P, weak))) return false;
      }
      if (stop()) continue;
      take(node, gone, seenBy);
      return true;
    }
    return true;
  };
  /**
   * Pairs of live items carried by fewer than k persons (undefined: over the limit). Two items of
   * p and p' persons among the class's P are carried together by at least p + p' - P of them
   * (inclusion-exclusion): such a pair is carried by k or more and is not counted. The live items
   * are numbered densely, and pairs counted in a square table where it is small (~4M cells), else
   * sorted as numbers.
   */
  const dense = new Grow();
  let cells = new Int32Array(0);
  const pairs = (
    P: number,
    persons: Int32Array,
    denseOf: Int32Array,
    weak: (set: number[]) => boolean,
  ): boolean => {
    dense.n = 0;
    for (let a = 0; a < live.n; a++)
      if (denseOf[live.a[a]] < 0) {
        denseOf[live.a[a]] = dense.n;
        dense.push(live.a[a]);
      }
    const D = dense.n;
    const table = D * D <= KM_CLASS_LIMITS.table;
    if (table && cells.length < D * D) cells = new Int32Array(D * D);
    keys.n = 0;
    for (let p = 0; p < P; p++)
      for (let a = liveStart.a[p]; a < liveStart.a[p + 1]; a++) {
        const i0 = live.a[a];
        const d0 = denseOf[i0];
        for (let b = a + 1; b < liveStart.a[p + 1]; b++) {
          const i1 = live.a[b];
          if (persons[i0] + persons[i1] >= P + k) continue;
          const d1 = denseOf[i1];
          const key = d0 < d1 ? d0 * D + d1 : d1 * D + d0;
          if (table) {
            if (cells[key]++ > 0) continue;
          } else if (keys.n >= KM_CLASS_LIMITS.pairs) return false;
          keys.push(key);
        }
      }
    const pair = (key: number) => [dense.a[Math.floor(key / D)], dense.a[key % D]];
    let more = true;
    if (table)
      for (let i = 0; i < keys.n; i++) {
        const key = keys.a[i];
        if (more && cells[key] < k) more = weak(pair(key));
        cells[key] = 0;
      }
    else {
      const sorted = keys.a.subarray(0, keys.n).sort();
      for (let i = 0; i < sorted.length && more;) {
        let j = i + 1;
        while (j < sorted.length && sorted[j] === sorted[i]) j++;
        if (j - i < k) more = weak(pair(sorted[i]));
        i = j;
      }
    }
    return true;
  };
  /** Sets of `size` ≥ 3 live items (m = 3: rare) carried by fewer than k persons. */
  const sets = (size: number, P: number, weak: (set: number[]) => boolean): boolean => {
    const counts = new Map<string, number>();
    const pick: number[] = [];
    let over = false;
    const walk = (from: number, to: number) => {
      if (pick.length === size) {
        const key = [...pick].sort((a, b) => a - b).join(',');
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (counts.size > KM_CLASS_LIMITS.sets) over = true;
        return;
      }
      for (let a = from; a < to && !over; a++) {
        pick.push(live.a[a]);
        walk(a + 1, to);
        pick.pop();
      }
    };
    for (let p = 0; p < P && !over; p++) walk(liveStart.a[p], liveStart.a[p + 1]);
    if (over) return false;
    for (const [key, n] of counts) if (n < k && !weak(key.split(',').map(Number))) break;
    return true;
  };
  /** The class takes `node`: its choice, its items gone, its removed rows, its figures. */
  const take = (node: number, gone: Uint8Array, seenBy: Int32Array) => {
    spill.choice.line(c.cls, node);
    add(stats.classesByNode, node, 1);
    for (let i = 0; i < gone.length; i++) if (gone[i]) spill.gone.line(c.cls, c.global[i]);
    const period = KM_NODES[node].period;
    seenBy.fill(0);
    // Per file: whether the person has rows of it (bit 1) and keeps one (bit 2).
    const held = new Uint8Array(files);
    for (let p = 0; p < c.pns.n; p++) {
      held.fill(0);
      for (let r = c.start.a[p]; r < c.end(p); r++) {
        const it = c.item.a[r * nodes + node];
        const f = c.ds.a[r];
        const n = c.n.a[r];
        stats.rows[f] += n;
        held[f] |= gone[it] ? 1 : 3;
        if (gone[it]) {
          stats.suppressed[f] += n;
          // One line per person and item removed.
          if (seenBy[it] !== p + 1) spill.fin.line(c.pns.a[p], c.global[it]);
          seenBy[it] = p + 1;
        } else {
          if (it !== c.item.a[r * nodes]) stats.generalised[f] += n;
          add(stats.rowsByNode, node, n);
          add(stats.periodRows, period, n);
        }
      }
      for (let f = 0; f < files; f++) if (held[f] === 1) stats.emptied[f]++;
    }
  };

  try {
    spill = { choice: open('km-choice.tsv'), gone: open('km-gone.tsv'), fin: open('km-fin.tsv') };
    let over = false;
    let lastPn = -1;
    const finish = () => {
      if (c.cls < 0) return;
      if (over || !searchClass()) stats.big.push(c.cls);
    };
    // Each tuple's item at every node, where the rows carry their tuple.
    const offset: number[] = [];
    let TT = 0;
    for (const n of input.tuples ?? []) {
      offset.push(TT);
      TT += n;
    }
    const itemAt = new Int32Array(input.map ? nodes * TT : 0);
    if (input.map)
      await readIntRows(copy.out(`COPY (${input.map}) TO STDOUT`), 4, (v) => {
        itemAt[v[0] * TT + offset[v[1]] + v[2] - 1] = v[3];
      });
    const cols = input.map ? 5 : 4 + nodes;
    await readIntRows(copy.out(`COPY (${input.select}) TO STDOUT`), cols, (v) => {
      if (v[0] !== c.cls) {
        finish();
        c.reset(v[0]);
        over = false;
        lastPn = -1;
      }
      if (over) return;
      if (v[1] !== lastPn) {
        lastPn = v[1];
        c.start.push(c.n.n);
        c.pns.push(lastPn);
      }
      c.ds.push(v[2]);
      c.n.push(v[3]);
      c.rows[v[2]] += v[3];
      const tuple = input.map ? offset[v[2]] + v[4] - 1 : 0;
      for (let i = 0; i < nodes; i++) {
        const global = input.map ? itemAt[i * TT + tuple] : v[4 + i];
        const it = c.local.number(global);
        if (it === c.global.length) {
          c.global.push(global);
          c.fileOf.push(v[2]);
        }
        c.item.push(it);
      }
      if (c.n.n > KM_CLASS_LIMITS.rows || c.global.length > KM_CLASS_LIMITS.items) {
        over = true;
        c.start.n = c.pns.n = c.ds.n = c.n.n = c.item.n = 0;
        c.local.clear();
        c.global.length = c.fileOf.length = 0;
      }
    });
    finish();
    for (const s of Object.values(spill)) s.close();
    for (const [table, s] of [
      ['_choice', spill.choice],
      ['_gone', spill.gone],
      ['_fin', spill.fin],
    ] as const)
      await pipeline(createReadStream(s.file), copy.in(`COPY ${T}${table} FROM STDIN`));
  } finally {
    // Each file closed and removed whatever happened to another (a full disk fails a flush).
    for (const s of opened) {
      try {
        s.close();
      } catch {
        // the error that ended the search is the one reported
      }
      rmSync(s.file, { force: true });
    }
  }
  return stats;
}
