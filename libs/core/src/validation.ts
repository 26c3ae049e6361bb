import { registerDecorator, ValidateIf, ValidationOptions } from 'class-validator';
import { isValidNhsNumber } from './nhs-number';

export const ODS_CODE = /^[A-Z]\d{5}$/;
/** UK postcode (outward + inward), upper case with one space; includes the ZZ99 pseudo-postcodes. */
export const POSTCODE = /^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$/;

export function isOdsCode(value: unknown): value is string {
  return typeof value === 'string' && ODS_CODE.test(value);
}

export function normalisePostcode(value: string): string | undefined {
  const compact = value.toUpperCase().replace(/\s+/g, '');
  if (compact.length < 5 || compact.length > 7) return undefined;
  const spaced = `${compact.slice(0, -3)} ${compact.slice(-3)}`;
  return POSTCODE.test(spaced) ? spaced : undefined;
}

function simple(name: string, test: (v: unknown) => boolean, message: string) {
  return (options?: ValidationOptions) => (object: object, propertyName: string) =>
    registerDecorator({
      name,
      target: object.constructor,
      propertyName,
      options: { message: `${propertyName} ${message}`, ...options },
      validator: { validate: (value: unknown) => test(value) },
    });
}

export const IsNhsNumber = simple(
  'isNhsNumber',
  isValidNhsNumber,
  'must be a valid NHS number (10 digits, Modulus 11)',
);
export const IsOdsCode = simple(
  'isOdsCode',
  isOdsCode,
  'must be an ODS code: a letter and five digits, e.g. A81001',
);
export const IsPostcode = simple(
  'isPostcode',
  (v) => typeof v === 'string' && normalisePostcode(v) !== undefined,
  'must be a UK postcode',
);

/**
 * Like `@IsOptional()` but only for an absent property: `null` is still validated (and refused by
 * the other decorators). For fields whose column is NOT NULL, where `@IsOptional()` would let a
 * `null` through to the database (a 500).
 */
export const IsOmittable = (options?: ValidationOptions) =>
  ValidateIf((_object: object, value: unknown) => value !== undefined, options);
