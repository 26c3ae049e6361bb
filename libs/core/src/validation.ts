import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  Max,
  Min,
  registerDecorator,
  ValidateIf,
  ValidationOptions,
} from 'class-validator';
import { ValidationError } from './errors';
import { isValidNhsNumber, normaliseNhsNumber } from './nhs-number';
import { normalisePostcode } from './postcode';
import { CORE_ERRORS } from './core.errors';
import { CALENDAR_YEARS, instantDate, isCalendarDate, isInstant } from './calendar';

export const ODS_CODE = /^[A-Z]\d{5}$/;
export function isOdsCode(value: unknown): value is string {
  return typeof value === 'string' && ODS_CODE.test(value);
}

function simple(name: string, test: (v: unknown) => boolean, message: string) {
  // A property decorator (`string | symbol`), so that it composes in `applyDecorators` too.
  return (options?: ValidationOptions) => (object: object, property: string | symbol) =>
    registerDecorator({
      name,
      target: object.constructor,
      propertyName: String(property),
      options: { message: `${String(property)} ${message}`, ...options },
      validator: { validate: (value: unknown) => test(value) },
    });
}

const IsValidNhsNumber = simple(
  'isNhsNumber',
  isValidNhsNumber,
  'must be a valid NHS number (10 digits, Modulus 11; spaces or hyphens as written, `943 476 5919`, are read past)',
);
/**
 * An NHS number as people write it: the spaces and hyphens of `943 476 5919` dropped
 * (`normaliseNhsNumber`, the rule of the cohort, HES and extract readers) before the Modulus 11
 * check. `POST /api/objections` refused the spaced form that every other path reads (an outsider's
 * probe, 2026-12-07, finding 5). Anything that is then no valid NHS number is refused as given.
 */
export const IsNhsNumber = (options?: ValidationOptions) => (object: object, propertyName: string) => {
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? (normaliseNhsNumber(value) ?? value) : value,
  )(object, propertyName);
  IsValidNhsNumber(options)(object, propertyName);
};
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

/**
 * The highest page a paged route accepts: far past any real list, and small enough that the
 * offset (page × limit) is always an integer PostgreSQL takes (`page=1e20` is an integer to
 * class-validator, and was a 500 "bigint out of range").
 */
export const MAX_PAGE = 100_000;

/** A page past the last one (other than the first page of an empty list) is a client error. */
export function assertPageInRange(page: number, limit: number, total: number): void {
  if (page > 1 && (page - 1) * limit >= total)
    throw new ValidationError(
      CORE_ERRORS.PAGE_OUT_OF_RANGE,
      `page ${page} is past the last page (${Math.max(1, Math.ceil(total / limit))})`,
    );
}

/**
 * A whole number in a query string, written in decimal digits only: `Number()` also read `0x10` as
 * 16, `1e3` as 1000 and ` 5 ` as 5 (an outsider's probe, 2026-12-06). Anything else stays a string,
 * which `@IsInt()` then refuses.
 */
export const DecimalInt = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^[0-9]{1,16}$/.test(value) ? Number(value) : value,
  );

/** The `page` query parameter of every paged route: a whole number from 1 to MAX_PAGE. */
export const IsPageNumber = () =>
  applyDecorators(
    ApiPropertyOptional({ default: 1, minimum: 1, maximum: MAX_PAGE }),
    IsOptional(),
    DecimalInt(),
    IsInt(),
    Min(1),
    Max(MAX_PAGE),
  );

/** A real day `YYYY-MM-DD` (calendar.ts): not `2015-02-30`, not year 0 or 9999. */
export const IsCalendarDate = simple(
  'isCalendarDate',
  isCalendarDate,
  `must be a real date YYYY-MM-DD between ${CALENDAR_YEARS.min} and ${CALENDAR_YEARS.max}`,
);
/**
 * A real date or an ISO 8601 date-time with its zone (calendar.ts), `t` and `z` in either case and
 * RFC 3339's leap second; passed on with `T` and `Z` in capitals, as PostgreSQL and `Date.parse` read
 * them.
 */
const isInstantValue = simple(
  'isInstant',
  isInstant,
  `must be a real date YYYY-MM-DD or date-time (YYYY-MM-DDThh:mm:ssZ or ±hh:mm) between ${CALENDAR_YEARS.min} and ${CALENDAR_YEARS.max}`,
);
export const IsInstant = (options?: ValidationOptions) => (object: object, propertyName: string) => {
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value))(
    object,
    propertyName,
  );
  isInstantValue(options)(object, propertyName);
};

/**
 * The end of a range (`to`): not before the property `from` names, where both are given as dates
 * or instants (a date is midnight UTC). A reversed range is a mistake to point out, not a question
 * whose answer is "nothing" (it was a 200 with an empty list: an outsider's probe, 2026-12-07).
 */
export const NotBefore =
  (from: string, options?: ValidationOptions) => (object: object, propertyName: string) =>
    registerDecorator({
      name: 'notBefore',
      target: object.constructor,
      propertyName,
      constraints: [from],
      options: { message: `${propertyName} must not be before ${from}`, ...options },
      validator: {
        validate: (value: unknown, args) => {
          const start = (args?.object as Record<string, unknown> | undefined)?.[from];
          if (typeof value !== 'string' || typeof start !== 'string') return true;
          const [a, b] = [instantDate(start).getTime(), instantDate(value).getTime()];
          return !(Number.isFinite(a) && Number.isFinite(b) && b < a);
        },
      },
    });

/**
 * Characters that change the direction text is shown in (a title "Statins \u202egnp.exe"): every
 * Bidi_Control, the marks U+200E, U+200F and U+061C included. By Unicode property, not a list: a list
 * missed the marks (an outsider's probe, 2026-12-07).
 */
const TEXT_DIRECTION = /\p{Bidi_Control}/u;
/**
 * Control characters, line and paragraph separators (U+2028, U+2029) and lone surrogates; in
 * multi-line text tab, line feed and carriage return are allowed.
 */
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}]/u;
const CONTROL_MULTILINE = /(?![\t\n\r])[\p{Cc}\p{Zl}\p{Zp}\p{Cs}]/u;
/**
 * A character that shows something: not white space, not default-ignorable (zero-width characters,
 * Hangul fillers, tag characters, variation selectors, invisible operators, the soft hyphen), not a
 * format character, not a combining mark on its own, not unassigned or private-use, not the Braille
 * blank. "Visible" was "not in a short list", and titles of Hangul fillers or Braille blanks passed.
 */
const VISIBLE = /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cf}\p{M}\p{Cn}\p{Co}\p{Cs}\u2800]/gu;

/** Whether `value` is text a person can read: at least `min` visible characters, no controls. */
export function isPlainText(value: unknown, min: number, multiline: boolean): boolean {
  if (typeof value !== 'string') return false;
  if (TEXT_DIRECTION.test(value) || (multiline ? CONTROL_MULTILINE : CONTROL).test(value)) return false;
  return (value.match(VISIBLE)?.length ?? 0) >= min;
}

/**
 * A name as stored and compared (organisations, people): compatibility-normalised (NFKC: a
 * decomposed "é" and the precomposed one, full-width letters and ASCII, are one), default-ignorable
 * characters (zero-width spaces and joiners, soft hyphens) removed, every run of white space (a
 * no-break space, a doubled space) one space, trimmed. Two organisations whose names read alike were
 * two rows of the public register (an outsider's probe, 2026-12-07). Letters of other alphabets that
 * look alike (a Cyrillic "а") stay distinct.
 */
export const normaliseName = (name: string): string =>
  name
    .normalize('NFKC')
    // A zero-width joiner or non-joiner is part of a spelling between two letters of a script that
    // uses them (Persian نیک‌نام, Sinhala ශ්‍රී), not beside a Latin letter or a space (a review,
    // 2026-12-07: they were removed everywhere); every other default-ignorable character goes.
    .replace(
      /(?<=[\p{L}\p{M}])(?<!\p{Script=Latin})[\u200C\u200D](?=[\p{L}\p{M}])(?!\p{Script=Latin})|(\p{Default_Ignorable_Code_Point})/gu,
      (m, ignorable: string | undefined) => (ignorable ? '' : m),
    )
    // Typographic apostrophes and hyphens are the keyboard's: "O’Brien" and "O'Brien" are one name.
    .replace(/[\u2018\u2019\u02BC\u2032]/g, "'")
    .replace(/[\u2010-\u2015\u2212\uFE63\uFF0D]/g, '-')
    .replace(/\p{White_Space}+/gu, ' ')
    .trim();

/**
 * A name (`field`) as stored: `normaliseName`, then checked again, since normalising can change what
 * was validated — NFKC spreads "ﷺ" over 18 characters (a 12-character name became 227 and a 500),
 * and turns a spacing accent "´" into a space and a combining mark, a name that shows nothing (a
 * review, 2026-12-07). 400 `VALIDATION_FAILED` naming the field.
 */
export function storedName(name: string, field: string, min: number, max = 200): string {
  const stored = normaliseName(name);
  if (stored.length > max || !isPlainText(stored, min, false))
    throw new ValidationError(
      'VALIDATION_FAILED',
      `${field} must hold at least ${min} visible characters and at most ${max} characters once normalised (NFKC)`,
    );
  return stored;
}

/**
 * Free text people read (a bid's title, purpose, public benefit — shown to the panel and on the
 * public register): at least `min` visible characters (spaces, tabs and zero-width characters do
 * not count: a title of spaces was stored as "" and could be submitted; an outsider's probe,
 * 2026-12-06), and no control or text-direction characters (which make a register line read
 * otherwise than it is).
 */
export const IsPlainText = (min: number, opts: { multiline?: boolean } = {}, options?: ValidationOptions) =>
  simple(
    'isPlainText',
    (v) => isPlainText(v, min, opts.multiline === true),
    `must hold at least ${min} visible characters${opts.multiline ? '' : ' on one line'}, with no control or text-direction characters`,
  )(options);
