/**
 * Compact growable storage for the verifier's kᵐ check (km-check.ts): int32 columns in pages, and
 * person tokens interned to numbers outside the JavaScript heap.
 */
const NONE = -1;

const PAGE_BITS = 18;
const PAGE = 1 << PAGE_BITS;

/**
 * A growable column of int32 in pages of 1 MiB (blocks the worker's malloc gives straight back to
 * the system when freed: MALLOC_MMAP_THRESHOLD_ in package.json): growing allocates one page and copies nothing, so a
 * column of a million entries never holds its old and new arrays at once (a doubling array does,
 * at every growth: twice and a half its size at the worst moment).
 */
export class Column {
  private readonly pages: Int32Array[] = [];
  length = 0;
  get(i: number): number {
    return this.pages[i >>> PAGE_BITS][i & (PAGE - 1)];
  }
  set(i: number, v: number): void {
    this.pages[i >>> PAGE_BITS][i & (PAGE - 1)] = v;
  }
  push(v: number): number {
    if ((this.length & (PAGE - 1)) === 0) this.pages.push(new Int32Array(PAGE));
    this.set(this.length, v);
    return this.length++;
  }
}

const BYTE_PAGE = 1 << 20;
const HEX = /^(?:[0-9a-f]{2})+$/;

/**
 * Person tokens interned to numbers 0, 1, … without a string or a Map entry of the JavaScript heap
 * per person: each token's bytes in pages of 1 MiB (a token never spans two), found through an
 * open-addressing table of their numbers (FNV-1a over the bytes, linear probing, at most half
 * full). A token of lower-case hex (the anonymised tier's, 32 characters) is kept as its 16 bytes
 * after a tag byte, any other string as its UTF-8 after another: two strings never share bytes.
 * At a million persons a Map of copied tokens took ~100 MB of the worker's 192 MB heap and the
 * release's verification ran out of it; here they are ~30 MB outside the heap.
 */
export class TokenIndex {
  private readonly pages: Uint8Array[] = [];
  private used = BYTE_PAGE;
  /** Where each token's bytes begin: a length (one byte under 255, else 255 and four), then them. */
  private readonly start = new Column();
  private slots = new Int32Array(1 << 10).fill(NONE);
  private scratch = new Uint8Array(256);
  private static readonly encoder = new TextEncoder();

  get size(): number {
    return this.start.length;
  }

  /** The token's bytes in `scratch`: a tag, then its hex decoded or its UTF-8; their number. */
  private encode(token: string): number {
    if (token.length * 3 + 1 > this.scratch.length) this.scratch = new Uint8Array(token.length * 3 + 1);
    if (HEX.test(token)) {
      this.scratch[0] = 1;
      return 1 + Buffer.from(this.scratch.buffer, 1, token.length / 2).write(token, 'hex');
    }
    this.scratch[0] = 0;
    return 1 + TokenIndex.encoder.encodeInto(token, this.scratch.subarray(1)).written;
  }

  private at(id: number): [Uint8Array, number, number] {
    const s = this.start.get(id);
    const page = this.pages[Math.floor(s / BYTE_PAGE)];
    const from = s % BYTE_PAGE;
    if (page[from] < 255) return [page, from + 1, page[from]];
    return [page, from + 5, new DataView(page.buffer, page.byteOffset + from + 1, 4).getUint32(0)];
  }

  /** The number of `token`: the one it was given when first seen, else the next. */
  intern(token: string): number {
    const n = this.encode(token);
    const src = this.scratch;
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ src[i], 0x01000193);
    const mask = this.slots.length - 1;
    let s = h & mask;
    for (let id = this.slots[s]; id !== NONE; s = (s + 1) & mask, id = this.slots[s]) {
      const [page, from, len] = this.at(id);
      if (len !== n) continue;
      let i = 0;
      while (i < n && page[from + i] === src[i]) i++;
      if (i === n) return id;
    }
    const head = n < 255 ? 1 : 5;
    if (this.used + head + n > BYTE_PAGE) {
      this.pages.push(new Uint8Array(Math.max(BYTE_PAGE, head + n)));
      this.used = 0;
    }
    const page = this.pages[this.pages.length - 1];
    const id = this.start.push((this.pages.length - 1) * BYTE_PAGE + this.used);
    if (head === 1) page[this.used] = n;
    else {
      page[this.used] = 255;
      new DataView(page.buffer, page.byteOffset + this.used + 1, 4).setUint32(0, n);
    }
    page.set(src.subarray(0, n), this.used + head);
    this.used += head + n;
    this.slots[s] = id;
    if (this.start.length * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(NONE);
    const mask = slots.length - 1;
    for (let id = 0; id < this.start.length; id++) {
      const [page, from, len] = this.at(id);
      let h = 0x811c9dc5;
      for (let i = from; i < from + len; i++) h = Math.imul(h ^ page[i], 0x01000193);
      let s = h & mask;
      while (slots[s] !== NONE) s = (s + 1) & mask;
      slots[s] = id;
    }
    this.slots = slots;
  }
}
