import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One NHS-number and one postcode normaliser (issue 21), the SQL twins of `normaliseNhsNumber`
 * and `normalisePostcode` (`libs/core`): `test/normalisers.e2e-spec.ts` runs both over the same
 * generated inputs. PostgreSQL's `\s` depends on the locale and missed the non-breaking space
 * (a GP entry passed, the same number in a HES file failed), and `upper()` is the locale's too; so
 * the separators are every Unicode space, listed (`libs/core/src/separators.ts`), letters are ASCII
 * and upper-cased by `translate`, and a non-ASCII letter is rejected, never folded (`ß1 1AA` is not
 * `SS1 1AA`). Both functions stay inlinable SQL that never raises.
 */
const SPACES = `\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff`;
const compactPostcode = `regexp_replace(p, '[${SPACES}]+', '', 'g')`;
const compactNhs = `regexp_replace(n, '[${SPACES}-]', '', 'g')`;

export class OneNormaliser1764000025000 implements MigrationInterface {
  name = 'OneNormaliser1764000025000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION postcode_normalise(p text) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE
          WHEN ${compactPostcode} ~ '^[A-Za-z]{1,2}[0-9][A-Za-z0-9]?[0-9][A-Za-z]{2}$'
          THEN regexp_replace(
                 translate(${compactPostcode}, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
                 '^(.+)(...)$', '\\1 \\2')
        END
      $$`);
    await q.query(`
      CREATE FUNCTION nhs_number_normalise(n text) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN nhs_number_is_valid(${compactNhs}) THEN ${compactNhs} END
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION nhs_number_normalise(text)`);
    await q.query(`
      CREATE OR REPLACE FUNCTION postcode_normalise(p text) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE
          WHEN upper(regexp_replace(p, '\\s+', '', 'g')) ~ '^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$'
          THEN regexp_replace(upper(regexp_replace(p, '\\s+', '', 'g')), '^(.+)(...)$', '\\1 \\2')
        END
      $$`);
  }
}
