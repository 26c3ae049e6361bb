/**
 * Integer rows through COPY for the kᵐ search (km-search.ts): read from a text COPY, written to
 * spill files for a COPY back, held in growable typed arrays, numbered per class; one class as read.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** Non-negative integers of a text COPY, `cols` per line, handed to `row` (chunk boundaries kept). */
export async function readIntRows(
  stream: AsyncIterable<Buffer>,
  cols: number,
  row: (v: Float64Array) => void,
): Promise<void> {
  const v = new Float64Array(cols);
  let col = 0;
  let cur = 0;
  let digits = 0;
  for await (const chunk of stream) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c >= 48 && c <= 57) {
        cur = cur * 10 + (c - 48);
        digits++;
      } else if (c === 9 || c === 10) {
        if (!digits || col >= cols) throw new Error('kᵐ search: unexpected COPY row');
        v[col++] = cur;
        cur = digits = 0;
        if (c === 10) {
          if (col !== cols) throw new Error('kᵐ search: unexpected COPY row');
          row(v);
          col = 0;
        }
      } else throw new Error('kᵐ search: unexpected COPY byte');
    }
  }
  if (col !== 0 || digits !== 0) throw new Error('kᵐ search: COPY ended mid-row');
}

/** Tab-separated pairs of integers written to a file in 64 KiB pieces (flat memory). */
export class Spill {
  private fd: number | undefined;
  private buf = '';
  constructor(readonly file: string) {
    this.fd = openSync(file, 'w', 0o600);
  }
  line(a: number, b: number): void {
    this.buf += `${a}\t${b}\n`;
    if (this.buf.length >= 65536) this.flush();
  }
  flush(): void {
    if (!this.buf || this.fd === undefined) return;
    // Every byte, or an error: a short write (a full disk) must not leave a file cut mid-line,
    // which COPY would read as another item or lose.
    const bytes = Buffer.from(this.buf);
    this.buf = '';
    for (let at = 0; at < bytes.length;) at += writeSync(this.fd, bytes, at, bytes.length - at);
  }
  /** Flushes and closes; the file is closed even when the flush fails (the error is thrown). */
  close(): void {
    try {
      this.flush();
    } finally {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
      this.buf = '';
    }
  }
}

/**
 * A growable typed array, kept between classes: doubles by default, 32-bit integers where half the
 * memory counts (a class's items at every node).
 */
export class Grow<A extends Float64Array | Int32Array = Float64Array> {
  n = 0;
  constructor(public a: A = new Float64Array(1024) as A) {}
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new (this.a.constructor as new (length: number) => A)(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
}

/**
 * Global item numbers → the class's own numbers (0, 1, …): open addressing over typed arrays,
 * emptied for each class (a Map took 3.8 s of the 1M benchmark's search, for ~110M lookups).
 */
export class IntIndex {
  private keys = new Int32Array(1024).fill(-1);
  private vals = new Int32Array(1024);
  size = 0;
  private slot(key: number): number {
    const mask = this.keys.length - 1;
    let i = Math.imul(key, 0x9e3779b1) & mask;
    while (this.keys[i] !== -1 && this.keys[i] !== key) i = (i + 1) & mask;
    return i;
  }
  /** The key's number, given the next one if it is new. */
  number(key: number): number {
    let i = this.slot(key);
    if (this.keys[i] === key) return this.vals[i];
    if ((this.size + 1) * 2 > this.keys.length) {
      const [keys, vals] = [this.keys, this.vals];
      this.keys = new Int32Array(keys.length * 2).fill(-1);
      this.vals = new Int32Array(keys.length * 2);
      for (let j = 0; j < keys.length; j++) if (keys[j] !== -1) this.keys[this.slot(keys[j])] = keys[j];
      for (let j = 0; j < keys.length; j++) if (keys[j] !== -1) this.vals[this.slot(keys[j])] = vals[j];
      i = this.slot(key);
    }
    this.keys[i] = key;
    this.vals[i] = this.size;
    return this.size++;
  }
  /** Empty; back to its first size after a large class, so small classes do not clear a large table. */
  clear(): void {
    if (this.keys.length > 4096 && this.size * 8 < this.keys.length) {
      this.keys = new Int32Array(1024).fill(-1);
      this.vals = new Int32Array(1024);
    } else this.keys.fill(-1);
    this.size = 0;
  }
}

/** One class as read: persons, rows, and its items numbered from 0 (`local`). */
export class ClassRows {
  cls = -1;
  start = new Grow();
  pns = new Grow();
  ds = new Grow();
  n = new Grow();
  /** The row's local item at each node (row r, node i at r * nodes + i). */
  item = new Grow(new Int32Array(1024));
  local = new IntIndex();
  global: number[] = [];
  fileOf: number[] = [];
  rows: number[];
  constructor(
    readonly nodes: number,
    files: number,
  ) {
    this.rows = new Array<number>(files).fill(0);
  }
  reset(cls: number): void {
    this.cls = cls;
    this.start.n = this.pns.n = this.ds.n = this.n.n = this.item.n = 0;
    this.local.clear();
    this.global.length = this.fileOf.length = 0;
    this.rows.fill(0);
  }
  end(p: number): number {
    return p + 1 < this.pns.n ? this.start.a[p + 1] : this.n.n;
  }
}
