/**
 * Compact growable storage for the verifier's kᵐ check (km-check.ts): int32 columns in pages, and
 * person tokens interned to numbers outside the JavaScript heap.
 */
const NONE = -1;

const PAGE_BITS = 18;
const PAGE = 1 << PAGE_BITS;
/** The first page's size (entries or bytes): it doubles up to a whole page, so a short column is small. */
const FIRST_PAGE = 1 << 10;

/**
 * A growable column of int32 in pages of 1 MiB (blocks the worker's malloc gives straight back to
 * the system when freed: MALLOC_MMAP_THRESHOLD_ in package.json): past the first page, growing
 * allocates one page and copies nothing, so a column of a million entries never holds its old and
 * new arrays at once (a doubling array does, at every growth: twice and a half its size at the
 * worst moment). The first page doubles from `FIRST_PAGE` entries, so a short column stays small.
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
    const i = this.length & (PAGE - 1);
    const last = this.pages.length - 1;
    if (i === 0) this.pages.push(new Int32Array(last < 0 ? FIRST_PAGE : PAGE));
    else if (i === this.pages[last].length) {
      const grown = new Int32Array(Math.min(PAGE, i * 2));
      grown.set(this.pages[last]);
      this.pages[last] = grown;
    }
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
    return this.find(this.encode(token));
  }

  /**
   * The number of `text` by its UTF-8 bytes after a tag of the caller's (2 to 255: those of
   * `intern` are 0 and 1), the same as `internBytes` gives those bytes under that tag.
   */
  internUtf8(text: string, tag: number): number {
    if (text.length * 3 + 1 > this.scratch.length) this.scratch = new Uint8Array(text.length * 3 + 1);
    this.scratch[0] = tag;
    return this.find(1 + TokenIndex.encoder.encodeInto(text, this.scratch.subarray(1)).written);
  }

  /** The number of the bytes `buf[from, to)` after a tag (see `internUtf8`). */
  internBytes(buf: Uint8Array, from: number, to: number, tag: number): number {
    const n = to - from + 1;
    if (n > this.scratch.length) this.scratch = new Uint8Array(n * 2);
    const src = this.scratch;
    src[0] = tag;
    for (let i = 1; i < n; i++) src[i] = buf[from + i - 1];
    return this.find(n);
  }

  /** The number of the first `n` bytes of `scratch`. */
  private find(n: number): number {
    const src = this.scratch;
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ src[i], 0x01000193);
    const mask = this.slots.length - 1;
    let s = h & mask;
    for (let id = this.slots[s]; id !== NONE; s = (s + 1) & mask, id = this.slots[s]) {
      // `at` inlined by hand: its tuple, made for every probe of every row, was most of the
      // verifier's garbage at 10M rows.
      const at = this.start.get(id);
      const page = this.pages[Math.floor(at / BYTE_PAGE)];
      let from = at % BYTE_PAGE;
      let len = page[from];
      if (len < 255) from += 1;
      else {
        len = new DataView(page.buffer, page.byteOffset + from + 1, 4).getUint32(0);
        from += 5;
      }
      if (len !== n) continue;
      let i = 0;
      while (i < n && page[from + i] === src[i]) i++;
      if (i === n) return id;
    }
    const head = n < 255 ? 1 : 5;
    if (this.used + head + n > BYTE_PAGE) {
      const size = this.pages.length ? BYTE_PAGE : FIRST_PAGE;
      this.pages.push(new Uint8Array(Math.max(size, head + n)));
      this.used = 0;
    }
    let page = this.pages[this.pages.length - 1];
    if (this.used + head + n > page.length) {
      page = new Uint8Array(Math.min(BYTE_PAGE, Math.max(page.length * 2, this.used + head + n)));
      page.set(this.pages[this.pages.length - 1].subarray(0, this.used));
      this.pages[this.pages.length - 1] = page;
    }
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
