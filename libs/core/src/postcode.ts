/**
 * Postcodes without dependencies: also loaded by the intake's parse thread, which must not pull in
 * the rest of `@custodian/core` (NestJS, class-validator).
 */
/** UK postcode (outward + inward), upper case with one space; includes the ZZ99 pseudo-postcodes. */
export const POSTCODE = /^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$/;

export function normalisePostcode(value: string): string | undefined {
  const compact = value.toUpperCase().replace(/\s+/g, '');
  if (compact.length < 5 || compact.length > 7) return undefined;
  const spaced = `${compact.slice(0, -3)} ${compact.slice(-3)}`;
  return POSTCODE.test(spaced) ? spaced : undefined;
}
