import { SPACE_CLASS } from './separators';

/**
 * NHS number validation (NHS Data Dictionary): ten digits; Modulus 11 with weights 10..2 on
 * digits 1-9; check digit = 11 - (sum mod 11), where 11 becomes 0 and 10 is invalid. A number
 * whose ten digits are all the same is invalid even when its check digit works out.
 */
export function isValidNhsNumber(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{10}$/.test(value)) return false;
  if (/^(\d)\1{9}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(value[i]) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 10) return false;
  return (check === 11 ? 0 : check) === Number(value[9]);
}

const SEPARATORS = new RegExp(`[${SPACE_CLASS}-]`, 'g');

/**
 * Strips the spaces and hyphens people type (`943 476 5919`, `943-476-5919`); returns undefined
 * for anything that is then not a valid NHS number. The SQL function `nhs_number_normalise` is the
 * same rule.
 */
export function normaliseNhsNumber(value: string): string | undefined {
  const compact = value.replace(SEPARATORS, '');
  return isValidNhsNumber(compact) ? compact : undefined;
}
