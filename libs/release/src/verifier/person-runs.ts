import type { FastLane } from './csv-stream';
import type { KmSets } from './km-check';
import type { PersonDateOrder } from './person-date-order';
import { fail } from './verification-failure';
import { ANON_PERIOD, FULL_DATE_IN_LINE } from './verifier-rules';

/**
 * A row's kᵐ item as a text of its file, one to one with its values: joined by commas where none
 * holds a comma or a quote (as an unquoted row writes them), else their JSON (which begins `["`,
 * and so is never such a join).
 */
export const itemText = (values: string[]): string =>
  values.some((v) => v.includes(',') || v.includes('"')) ? JSON.stringify(values) : values.join(',');

const COMMA = 0x2c;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

/** `buf[from, to)` is empty, `*`, or a period `ANON_PERIOD` accepts (YYYY or YYYY-MM): bytes, not text. */
export function periodBytesOk(buf: Uint8Array, from: number, to: number): boolean {
  const n = to - from;
  if (n === 0) return true;
  if (n === 1) return buf[from] === 0x2a;
  if (n !== 4 && n !== 7) return false;
  for (let i = from; i < from + 4; i++) if (!isDigit(buf[i])) return false;
  if (n === 4) return true;
  const [dash, m1, m2] = [buf[from + 4], buf[from + 5], buf[from + 6]];
  return (
    dash === 0x2d && ((m1 === 0x30 && m2 >= 0x31 && m2 <= 0x39) || (m1 === 0x31 && m2 >= 0x30 && m2 <= 0x32))
  );
}

/** What a file's layout tells the runs of its rows (see `PersonRuns`). */
export interface RunLayout {
  name: string;
  header: string[];
  /** Person columns: they lead the file. */
  personCols: number;
  /** Event columns of year-month periods (anonymised tier), checked in every row. */
  eventYearMonthCols: number[];
  /** The kᵐ item's columns (all event columns). */
  itemCols: number[];
  /** An anonymised file with dates in event columns: a repeating row is screened for a full date. */
  eventYearMonth: boolean;
  km?: KmSets;
  /** Anonymised, a person column: the event date column (after the person columns), whose periods
   * within a person must not follow the dates (`PersonDateOrder`); a repeating row's is added. */
  order?: { col: number; check: PersonDateOrder };
  /** A row's place, for failure reasons. */
  where: (index: number) => string;
}

/**
 * The rows of a file that repeat the person part of the row before (the text up to the end of the
 * person columns, which lead every file): that part was checked in the row before, so such a row
 * needs only its other fields checked (#19: at 1M persons with events the verification split and
 * counted every row's person again). With kᵐ items each such row's event fields are cut out, its
 * periods checked, and its item counted for the person of the row before; without, its fields are
 * counted and the line screened for a full date.
 *
 * Where the item columns are all the event columns (the GP file), the same is done on a row's bytes
 * before it is decoded (`fast`): the person part compared byte for byte, the fields cut at comma
 * bytes, the periods checked by `periodBytesOk`, and the item counted by its bytes (`KmSets.againBytes`,
 * the same item as its text): no string is made for such a row. With the other changes of
 * 2026-12-06, the verification at 1M persons with 10M events went from 26–30 s to ~15 s inside the
 * release (docs/BENCHMARKS.md).
 */
export class PersonRuns {
  private prefix: string | undefined;
  private bytes = Buffer.alloc(64);
  private byteLength = -1;
  private readonly eventCount: number;
  private readonly cut: Int32Array;
  /** An unquoted row's text after its person part is its item's text (`itemText` of its values). */
  private readonly partIsItem: boolean;

  constructor(private readonly l: RunLayout) {
    this.eventCount = l.header.length - l.personCols;
    this.cut = new Int32Array(this.eventCount + 1);
    this.partIsItem =
      l.itemCols.length === this.eventCount && l.itemCols.every((c, j) => c === l.personCols + j);
  }

  /** The person part of `line` (ending in its `personCols`-th comma), if it has one. */
  private prefixOf(line: string): string | undefined {
    let at = -1;
    for (let n = 0; n < this.l.personCols; n++) {
      at = line.indexOf(',', at + 1);
      if (at < 0) return undefined;
    }
    return line.slice(0, at + 1);
  }

  /** A row checked in full: the next may repeat its person part (`line`), or none (undefined). */
  begin(line: string | undefined): void {
    this.prefix = line === undefined ? undefined : this.prefixOf(line);
    if (this.prefix === undefined) {
      this.byteLength = -1;
      return;
    }
    if (this.prefix.length * 3 > this.bytes.length) this.bytes = Buffer.alloc(this.prefix.length * 3);
    this.byteLength = this.bytes.write(this.prefix, 'utf8');
  }

  /**
   * Whether `line` repeats the person part of the row before; if so it is checked here. A slice
   * compared, not `startsWith`: on rows cut from a chunk that took ~250 ns a row against ~60.
   */
  repeats(line: string, index: number, maybe: readonly boolean[]): boolean {
    const p = this.prefix;
    if (p === undefined || line.slice(0, p.length) !== p) return false;
    const { header, personCols, km } = this.l;
    const where = () => this.l.where(index);
    const wrong = () => fail('format', `${where()} does not have ${header.length} fields`);
    if (km) {
      const cut = this.cut;
      cut[0] = p.length;
      for (let e = 1; e < this.eventCount; e++) {
        const comma = line.indexOf(',', cut[e - 1]);
        if (comma < 0) wrong();
        cut[e] = comma + 1;
      }
      if (line.indexOf(',', cut[this.eventCount - 1]) >= 0) wrong();
      cut[this.eventCount] = line.length + 1;
      const field = (c: number) => line.slice(cut[c - personCols], cut[c - personCols + 1] - 1);
      for (const c of this.l.eventYearMonthCols) {
        const v = field(c);
        if (v !== '' && v !== '*' && !ANON_PERIOD.test(v))
          fail('identifiers by tier', `${where()}: ${header[c]} is not a year and month`);
      }
      km.again(this.partIsItem ? line.slice(p.length) : itemText(this.l.itemCols.map(field)), this.l.name);
      this.l.order?.check.next(field(this.l.order.col));
      return true;
    }
    let commas = 0;
    for (let at = line.indexOf(',', p.length); at >= 0; at = line.indexOf(',', at + 1)) commas++;
    if (commas !== header.length - 1 - personCols) wrong();
    if (this.l.order) {
      let at = p.length;
      for (let c = personCols; c < this.l.order.col; c++) at = line.indexOf(',', at) + 1;
      const end = line.indexOf(',', at);
      this.l.order.check.next(line.slice(at, end < 0 ? line.length : end));
    }
    if (this.l.eventYearMonth && maybe[1] && FULL_DATE_IN_LINE.test(line))
      fail('identifiers by tier', `${where()}: a full date in an anonymised file`);
    return true;
  }

  /**
   * The byte path of `repeats` for a file whose rows may take it (the caller's conditions, and
   * kᵐ items that are all the event columns); `scanNhs`: lines of a chunk that may hold an NHS
   * number (`maybe[0]`) are left to the text path, which tests each.
   */
  fast(scanNhs: boolean): FastLane | undefined {
    const { km, header, personCols, name, where } = this.l;
    if (!km || !this.partIsItem) return undefined;
    const count = this.eventCount;
    return (buf, from, to, index, maybe) => {
      const n = this.byteLength;
      if (n < 0 || (scanNhs && maybe[0]) || to - from < n) return false;
      const mine = this.bytes;
      for (let j = 0; j < n; j++) if (buf[from + j] !== mine[j]) return false;
      const cut = this.cut;
      cut[0] = from + n;
      let e = 1;
      for (let at = from + n; at < to; at++)
        if (buf[at] === COMMA) {
          if (e === count) fail('format', `${where(index)} does not have ${header.length} fields`);
          cut[e++] = at + 1;
        }
      if (e !== count) fail('format', `${where(index)} does not have ${header.length} fields`);
      cut[count] = to + 1;
      for (const c of this.l.eventYearMonthCols)
        if (!periodBytesOk(buf, cut[c - personCols], cut[c - personCols + 1] - 1))
          fail('identifiers by tier', `${where(index)}: ${header[c]} is not a year and month`);
      km.againBytes(buf, from + n, to, name);
      const order = this.l.order;
      if (order) order.check.nextBytes(buf, cut[order.col - personCols], cut[order.col - personCols + 1] - 1);
      return true;
    };
  }
}
