/**
 * The characters people type between the parts of an NHS number or a postcode: every Unicode
 * space (what JavaScript's `\s` matches, listed so that SQL matches exactly the same: PostgreSQL's
 * `\s` depends on the locale and misses the non-breaking space). A regular-expression class body,
 * written the same in the SQL functions of migration 1764000025000; `test/normalisers.e2e-spec.ts`
 * proves the two agree. No dependencies: the intake's parse thread loads it.
 */
export const SPACE_CLASS =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
