import { BIDS_ERRORS } from './bids.errors';
import { Transform, type TransformCallback } from 'node:stream';
import { normaliseNhsNumber } from '@custodian/core';

/** How many bad line numbers an error lists (the count is always complete). */
export const MAX_LISTED_BAD_LINES = 100;

/**
 * Reads a text/plain body of NHS numbers, one a line, and emits COPY text rows (`<nhs>\n`) of the
 * valid ones. Bad lines are counted and their line numbers kept (up to MAX_LISTED_BAD_LINES); the
 * numbers themselves are never kept. Blank lines are skipped. Memory stays flat.
 */
export class CohortLines extends Transform {
  received = 0;
  badCount = 0;
  readonly badLines: number[] = [];
  private line = 0;
  private rest = '';

  constructor() {
    super({ readableObjectMode: false, writableObjectMode: false });
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.rest + chunk.toString('utf8');
    const parts = text.split('\n');
    this.rest = parts.pop() ?? '';
    if (this.rest.length > 1000) {
      done(new Error(BIDS_ERRORS.COHORT_LINE_TOO_LONG));
      return;
    }
    const out = parts.map((p) => this.takeLine(p)).join('');
    done(null, out || undefined);
  }

  override _flush(done: TransformCallback): void {
    const out = this.rest ? this.takeLine(this.rest) : '';
    this.rest = '';
    done(null, out || undefined);
  }

  private takeLine(raw: string): string {
    this.line++;
    const value = raw.replace(/\r$/, '').trim();
    if (!value) return '';
    this.received++;
    const nhs = normaliseNhsNumber(value);
    if (nhs) return `${nhs}\n`;
    this.badCount++;
    if (this.badLines.length < MAX_LISTED_BAD_LINES) this.badLines.push(this.line);
    return '';
  }
}
