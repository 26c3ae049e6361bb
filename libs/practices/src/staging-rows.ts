import { existsSync } from 'node:fs';
import path from 'node:path';
import { Transform, TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { DomainError } from '@custodian/core/errors';
import { instantUtc } from './objection-entry';
import { PRACTICES_ERRORS } from './practices.errors';
import { HeldLine } from './ndjson-lines';
import {
  BlockResult,
  MAX_LINE_BYTES,
  parseBlock,
  tooLong,
  tooLongObjection,
  watchObjection,
} from './staging-block';
import type { ParseRequest } from './staging-worker';
import { addDroppedFields, MAX_LISTED_REJECTIONS, RejectionTally } from './rejections';

export { copyValue, MAX_LINE_BYTES, STAGING_COLUMNS } from './staging-block';

/**
 * What an upload's lines came to, beside its rows: a block's counts, summed, and the line count.
 * `warnings` and `unresolved` are set by `StagingRows` when the caller leaves them out.
 */
export interface StreamStats
  extends
    Omit<BlockResult, 'rows' | 'rejected' | 'warnings' | 'unresolved'>,
    Partial<Pick<BlockResult, 'warnings' | 'unresolved'>> {
  lines: number;
  /** Bounded: the first refused lines and counts by reason (see rejections.ts). */
  rejected: RejectionTally;
  /** When the extract was read (set by `StagingRows`): the instant of a registration read at it. */
  received?: string;
}

/** The code of the refusal of an extract with an objection that names no patient (fail closed). */
export const OBJECTION_UNRESOLVED = PRACTICES_ERRORS.EXTRACT_OBJECTION_UNRESOLVED;

/**
 * An objection that names no patient cannot be applied to anyone, so nobody in the extract can be
 * shown not to be its objector: the whole extract is refused (422), its line numbers and reasons
 * given (never values), and nothing is stored.
 */
export function unresolvedObjections(unresolved: { line: number; reason: string }[]): DomainError {
  const lines = unresolved.slice(0, 100);
  return new DomainError(
    OBJECTION_UNRESOLVED,
    `extract refused: ${unresolved.length} objection(s) cannot be applied — naming no patient that can be found, or coded in a form the centre cannot read (first at line ${lines[0].line}: ${lines[0].reason}); nothing was stored`,
    422,
    { unresolved: lines },
  );
}

/** The most bytes of whole lines in one block: a whole upload in one chunk is still many blocks. */
const BLOCK_BYTES = 256 * 1024;

interface Block {
  bytes: Buffer;
  firstLine: number;
}

const countNewlines = (b: Buffer) => {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
};

/**
 * Cuts a byte stream into numbered blocks of whole lines, so that blocks can be parsed apart (and
 * on two threads). Holds at most one unfinished line, and never more than `maxLineBytes` of it: a
 * line that grows past the limit before its end arrives is refused and skipped as it streams.
 */
export class BlockCutter {
  private readonly held: HeldLine;
  private next = 1;

  constructor(
    private readonly maxLineBytes: number,
    /** A line refused as too long; `watched`: its bytes matched `watch` as they were dropped. */
    private readonly onTooLong: (line: number, watched: boolean) => void,
    private readonly watch?: (text: string) => boolean,
  ) {
    this.held = new HeldLine(maxLineBytes, watch);
  }

  /** Lines begun so far (after `end`, the number of lines in the stream). */
  get lines(): number {
    return this.next - 1;
  }

  write(chunk: Buffer): Block[] {
    const last = chunk.lastIndexOf(10);
    if (last < 0) {
      this.held.add(chunk);
      return [];
    }
    // The held start of a line ends at this chunk's first newline: it goes in the first block, or,
    // when it was already too long, it is refused and the rest of it skipped.
    // A line already too long: its end, up to this chunk's first newline, goes through the watch.
    if (this.held.dropping) this.held.add(chunk.subarray(0, chunk.indexOf(10)));
    const held = this.held.take();
    let bytes: Buffer;
    if (held === null) {
      this.onTooLong(this.next++, this.held.takenWatched);
      bytes = chunk.subarray(chunk.indexOf(10) + 1, last + 1);
    } else {
      bytes = held.length ? Buffer.concat([held, chunk.subarray(0, last + 1)]) : chunk.subarray(0, last + 1);
    }
    this.held.add(chunk.subarray(last + 1));
    return this.cut(bytes);
  }

  /** Whole lines → blocks of at most BLOCK_BYTES (a longer line is a block of its own, or refused). */
  private cut(bytes: Buffer): Block[] {
    const blocks: Block[] = [];
    for (let from = 0; from < bytes.length;) {
      let to = bytes.length;
      if (to - from > BLOCK_BYTES) {
        const nl = bytes.lastIndexOf(10, from + BLOCK_BYTES - 1);
        if (nl >= from) to = nl + 1;
        else {
          const end = bytes.indexOf(10, from);
          if (end - from > this.maxLineBytes) {
            this.onTooLong(this.next++, this.watch?.(bytes.toString('latin1', from, end)) ?? false);
            from = end + 1;
            continue;
          }
          to = end + 1;
        }
      }
      const piece = bytes.subarray(from, to);
      blocks.push({ bytes: piece, firstLine: this.next });
      this.next += countNewlines(piece);
      from = to;
    }
    return blocks;
  }

  /** The last line, when the stream does not end with a newline. */
  end(): Block[] {
    if (this.held.empty) return [];
    const held = this.held.take();
    if (held === null) {
      this.onTooLong(this.next++, this.held.takenWatched);
      return [];
    }
    return [{ bytes: held, firstLine: this.next++ }];
  }
}

/**
 * A second thread for parsing extracts (SPEC §2's intake is one core's work otherwise: JSON.parse
 * and validation of every line, while PostgreSQL waits). One per process, started on first use,
 * never keeping the process alive; it loads only the parser (staging-worker.ts), and its heap is
 * capped so that it cannot take the process past its memory budget. If it fails, the uploads it
 * was parsing for fail (and store nothing); the next upload starts a new one.
 */
export class ParseThread {
  private current?: { worker: Worker; waiting: Map<number, Waiting> };
  private nextId = 0;

  constructor(private readonly script: string) {}

  /** The thread of this build: present when the compiled worker script sits beside this module. */
  static forThisBuild(): ParseThread | undefined {
    const script = path.join(__dirname, 'staging-worker.js');
    return existsSync(script) ? new ParseThread(script) : undefined;
  }

  /** Blocks sent to the current thread and not yet answered. */
  get pending(): number {
    return this.current?.waiting.size ?? 0;
  }

  parse(
    bytes: Buffer,
    firstLine: number,
    ods: string,
    today: string,
    received?: string,
  ): Promise<BlockResult> {
    const { worker, waiting } = (this.current ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      // Cloning a view would copy the whole buffer behind it (request data beyond this block, up
      // to an entire pooled or file-sized buffer): copy just the block, and hand that copy over.
      const own = new Uint8Array(bytes);
      worker.postMessage({ id, bytes: own, firstLine, ods, today, received } satisfies ParseRequest, [
        own.buffer,
      ]);
    });
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    await current?.worker.terminate();
  }

  private start(): { worker: Worker; waiting: Map<number, Waiting> } {
    const worker = new Worker(this.script, {
      // A small young generation: ~6 MB of the API's peak RSS under a large upload, no slower
      // (docs/BENCHMARKS.md, "Ingest, 2026-12-06").
      resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 2 },
    });
    worker.unref();
    // Each thread answers only for what was sent to it: when one fails, the uploads it was parsing
    // for fail, never those already using its replacement.
    const waiting = new Map<number, Waiting>();
    worker.on('message', (m: { id: number; result?: BlockResult; error?: string }) => {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.result) w?.resolve(m.result);
      else w?.reject(new Error(`parse thread: ${m.error}`));
    });
    const fail = (e: Error) => {
      if (this.current?.worker === worker) this.current = undefined;
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`parse thread exited (${code})`)));
    return { worker, waiting };
  }
}

interface Waiting {
  resolve: (r: BlockResult) => void;
  reject: (e: Error) => void;
}

/** Blocks a parse thread may hold at once before the request's own thread parses the next. */
const THREAD_BLOCKS = 4;
/** Parsed blocks held before their rows are passed on (their order is kept). */
const QUEUED_BLOCKS = 8;

/**
 * Turns an NDJSON byte stream into rows of the staging table (COPY text format), in line order.
 * Patient data goes straight on to PostgreSQL, one write per ~64 KiB; only counts and rejected
 * line numbers stay in memory, bounded (rejections.ts). Incoming bytes are cut into blocks of whole lines; with a
 * `ParseThread`, a block goes to it while it holds fewer than THREAD_BLOCKS, else it is parsed here — so both
 * cores parse, and the thread's share follows how busy it is (it serves every upload of the process).
 */
export class StagingRows extends Transform {
  private readonly cutter: BlockCutter;
  private readonly queue: Promise<BlockResult>[] = [];
  private batch = '';
  /** When the extract was read (UTC, to the second; at most the end of `today`): an odd objection date counts from it. */
  private readonly received: string;

  constructor(
    private readonly ods: string,
    private readonly today: string,
    private readonly stats: StreamStats,
    private readonly thread?: ParseThread,
  ) {
    super();
    stats.warnings ??= [];
    stats.unresolved ??= [];
    this.received = `${today}T23:59:59Z` < instantUtc() ? `${today}T23:59:59Z` : instantUtc();
    stats.received = this.received;
    this.cutter = new BlockCutter(
      MAX_LINE_BYTES,
      (line, watched) => {
        if (watched) stats.unresolved!.push(tooLongObjection(line));
        else {
          const r = tooLong(line);
          stats.rejected.add(r.line, r.reason);
        }
      },
      watchObjection,
    );
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.enqueue(this.cutter.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    } catch (e) {
      return done(e as Error);
    }
    this.settle(QUEUED_BLOCKS).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    try {
      this.enqueue(this.cutter.end());
    } catch (e) {
      return done(e as Error);
    }
    this.settle(0).then(() => {
      // Fail closed: rows already sent to COPY are rolled back with the transaction.
      const unresolved = this.stats.unresolved!;
      if (unresolved.length) return done(unresolvedObjections(unresolved));
      done(null, this.batch || undefined);
    }, done);
  }

  private enqueue(blocks: Block[]) {
    for (const { bytes, firstLine } of blocks) {
      const parsed =
        this.thread && this.thread.pending < THREAD_BLOCKS
          ? this.thread.parse(bytes, firstLine, this.ods, this.today, this.received)
          : Promise.resolve(parseBlock(bytes, firstLine, this.ods, this.today, this.received));
      // Awaited in order by settle(); this only keeps an early failure from counting as unhandled.
      parsed.catch(() => undefined);
      this.queue.push(parsed);
    }
    this.stats.lines = this.cutter.lines;
  }

  /** Passes on parsed blocks, oldest first, until at most `keep` are queued. */
  private async settle(keep: number): Promise<void> {
    while (this.queue.length > keep) {
      const r = await this.queue.shift()!;
      for (const x of r.rejected) this.stats.rejected.add(x.line, x.reason);
      // Bounded like the refused lines: the first MAX_LISTED_REJECTIONS of each are kept.
      for (const x of r.warnings)
        if (this.stats.warnings!.length < MAX_LISTED_REJECTIONS) this.stats.warnings!.push(x);
      for (const x of r.unresolved)
        if (this.stats.unresolved!.length < MAX_LISTED_REJECTIONS) this.stats.unresolved!.push(x);
      this.stats.unsupported += r.unsupported;
      this.stats.retracted += r.retracted;
      addDroppedFields(this.stats.byField, r.byField);
      this.batch += r.rows;
      if (this.batch.length >= 65_536) {
        this.push(this.batch);
        this.batch = '';
      }
    }
  }
}
