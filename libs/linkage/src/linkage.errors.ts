import { ValidationError } from '@custodian/core';

/** The file's first line is not the format's header (or the file is empty). Nothing is stored. */
export class CsvHeaderInvalidError extends ValidationError {
  constructor(expected: readonly string[] | null, reason: string) {
    super(
      `${reason}${expected ? `; expected ${expected.join(',')}` : ''}`,
      'CSV_HEADER_INVALID',
      expected ? { expected } : undefined,
    );
  }
}

/**
 * A row whose structure is broken (wrong number of fields, unterminated quote, invalid UTF-8): the
 * column positions of the file can no longer be trusted, so the whole file is refused. `row` is the
 * 1-based data row (header excluded) where PostgreSQL's COPY stopped.
 */
export class CsvMalformedError extends ValidationError {
  constructor(row: number | null) {
    super(
      `The file is not well-formed CSV${row ? ` at data row ${row}` : ''} (wrong number of fields, unterminated quote or invalid UTF-8); nothing was loaded`,
      'CSV_MALFORMED',
      row ? { row } : undefined,
    );
  }
}
