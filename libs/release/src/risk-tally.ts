/**
 * The risk report's per-file figures (#24), tallied while a shard writes its rows (issue #22): the
 * shard's CSV bytes pass through here on their way to gzip, and the person column and the
 * person-level quasi-identifiers of each row are read from them — the bytes that are released,
 * nothing recomputed. What a shard leaves is a partial: its persons, and its persons per class of
 * quasi-identifier values (`classes`); the partials of a file's shards add up to the file's
 * (risk-report.ts), because shards never share a person (they are ranges of the person key, and a
 * file without a person column counts each row as a person).
 *
 * The same figures as reading the whole file back into PostgreSQL and counting there (the report's
 * first version, kept as the reference in `test/release-risk-tally.e2e-spec.ts`):
 * - a class is a distinct combination of quasi-identifier values; values are keyed by their CSV
 *   token as COPY writes it (one token per value: an empty unquoted token is NULL, `""` the empty
 *   string, so the two stay apart as they did in the table);
 * - a person counts once per distinct class it has in the file (a person's rows are contiguous in a
 *   file with a person column: ordered by the person key, then date and id);
 * - a file without a person column: each row is a person.
 *
 * Memory is bounded: when `classes` reaches `flushAt` entries, `flush` is awaited (the shard writes
 * them to the working set's risk table and the map starts again; the sums are taken there).
 */
const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;

export interface RiskColumns {
  /** The file's header, in order. */
  header: string[];
  /** The person column, or null when the file has none (each row a person). */
  personColumn: string | null;
  /** The quasi-identifier columns, in the report's order. */
  quasiIdentifiers: string[];
}

export class RiskTally {
  /** Slot of each field index in `values` (-1: not read). */
  private readonly slot: Int32Array;
  private readonly qiSlots: number[];
  private readonly personSlot: number;
  private readonly values: string[];
  private field = 0;
  private quoted = false;
  /** The start of the current field, when it began in an earlier chunk. */
  private carry = '';
  private person: string | undefined;
  private runFirst = '';
  private runMore: Set<string> | undefined;
  /** Persons of this shard's part of the file (every row, without a person column). */
  persons = 0;
  /** Rows seen. */
  rows = 0;
  /** Persons per class, since the last flush. */
  classes = new Map<string, number>();

  constructor(
    columns: RiskColumns,
    private readonly flushAt = 50_000,
  ) {
    const wanted = [...(columns.personColumn ? [columns.personColumn] : []), ...columns.quasiIdentifiers];
    this.slot = new Int32Array(columns.header.length + 1).fill(-1);
    for (const [i, name] of wanted.entries()) {
      const at = columns.header.indexOf(name);
      if (at < 0) throw new Error(`risk tally: no column ${name}`);
      this.slot[at] = i;
    }
    this.personSlot = columns.personColumn ? 0 : -1;
    this.qiSlots = columns.quasiIdentifiers.map((_, i) => i + (columns.personColumn ? 1 : 0));
    this.values = new Array<string>(wanted.length).fill('');
  }

  /** Whether `classes` should be flushed before more rows are read. */
  get full(): boolean {
    return this.classes.size >= this.flushAt;
  }

  /** Reads one chunk of CSV (rows may span chunks; no header). */
  update(chunk: Buffer): void {
    const slot = this.slot;
    const last = slot.length - 1;
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === QUOTE) {
        // `""` inside a quoted value toggles twice: the delimiters between stay inside.
        this.quoted = !this.quoted;
        continue;
      }
      if (this.quoted || (b !== COMMA && b !== LF)) continue;
      const s = slot[this.field < last ? this.field : last];
      if (s >= 0) {
        this.values[s] = this.carry + chunk.toString('latin1', start, i);
        this.carry = '';
      }
      start = i + 1;
      if (b === LF) {
        this.row();
        this.field = 0;
      } else this.field++;
    }
    const s = slot[this.field < last ? this.field : last];
    if (s >= 0 && start < chunk.length) this.carry += chunk.toString('latin1', start);
  }

  /** After the last chunk: the CSV must have ended with a whole row. */
  end(): void {
    if (this.field !== 0 || this.quoted || this.carry)
      throw new Error('risk tally: the CSV ended inside a row');
  }

  private row(): void {
    this.rows++;
    const v = this.values;
    const q = this.qiSlots;
    const key = q.length === 1 ? v[q[0]] : q.length === 0 ? '' : q.map((i) => v[i]).join(',');
    if (this.personSlot < 0) {
      this.persons++;
      this.add(key);
      return;
    }
    const p = v[this.personSlot];
    // A released row without its person: the counts would not describe the file; never expected.
    if (p === '') throw new Error('risk tally: a row without its person');
    if (p !== this.person) {
      this.person = p;
      this.runFirst = key;
      this.runMore = undefined;
      this.persons++;
      this.add(key);
    } else if (key !== this.runFirst && !this.runMore?.has(key)) {
      (this.runMore ??= new Set()).add(key);
      this.add(key);
    }
  }

  private add(key: string): void {
    this.classes.set(key, (this.classes.get(key) ?? 0) + 1);
  }

  /** The classes counted since the last call, and a fresh map. */
  take(): Map<string, number> {
    const out = this.classes;
    this.classes = new Map();
    return out;
  }
}
