/**
 * Postcodes without dependencies: also loaded by the intake's parse thread, which must not pull in
 * the rest of `@custodian/core` (NestJS, class-validator).
 */
import { SPACE_CLASS } from './separators';

/** UK postcode (outward + inward), upper case with one space; includes the ZZ99 pseudo-postcodes. */
export const POSTCODE = /^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$/;

const SPACES = new RegExp(`[${SPACE_CLASS}]+`, 'g');
/** ASCII letters and digits only: a non-ASCII letter is rejected, never folded (`ß` is not `SS`). */
const COMPACT = /^[A-Za-z]{1,2}[0-9][A-Za-z0-9]?[0-9][A-Za-z]{2}$/;

/**
 * The postcode as `LS1 4AP`, or undefined. Spaces anywhere are ignored, ASCII letters upper-cased;
 * anything else is not a postcode. The SQL function `postcode_normalise` is the same rule.
 */
export function normalisePostcode(value: string): string | undefined {
  const compact = value.replace(SPACES, '');
  if (!COMPACT.test(compact)) return undefined;
  const upper = compact.toUpperCase();
  return `${upper.slice(0, -3)} ${upper.slice(-3)}`;
}
