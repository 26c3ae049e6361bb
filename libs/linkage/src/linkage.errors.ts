import { ValidationError } from '@custodian/core';

/** The file's first line is not the format's header (or the file is empty). Nothing is stored. */
export class CsvHeaderInvalidError extends ValidationError {
  constructor(expected: readonly string[] | null, reason: string) {
    super(
      'CSV_HEADER_INVALID',
      `${reason}${expected ? `; expected ${expected.join(',')}` : ''}`,
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
      'CSV_MALFORMED',
      `The file is not well-formed CSV${row ? ` at data row ${row}` : ''} (wrong number of fields, a blank line between rows, unterminated quote or invalid UTF-8); nothing was loaded`,
      row ? { row } : undefined,
    );
  }
}

/**
 * The stable error codes this library raises (the `code` of its error answers). Each is also in
 * ERROR_CODES (libs/core/src/error-codes.ts, the OpenAPI enum); test/error-codes.e2e-spec.ts checks.
 */
export const LINKAGE_ERRORS = {
  SOURCE_LOAD_EMPTY: 'SOURCE_LOAD_EMPTY',
  SOURCE_LOAD_NOT_FOUND: 'SOURCE_LOAD_NOT_FOUND',
} as const;
