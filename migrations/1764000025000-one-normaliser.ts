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
const compactNhs = `regexp_replace(n, '[${SPACES}-]', '', 'g')`;

/** `postcode_normalise`: `compact` strips the spaces, `shape` is the postcode's, `upper` folds case. */
const postcodeFunction = (compact: string, shape: string, upper: (x: string) => string) => `
  CREATE OR REPLACE FUNCTION postcode_normalise(p text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ${compact} ~ '${shape}' THEN regexp_replace(${upper(compact)}, '^(.+)(...)$', '\\1 \\2') END
  $$`;

export class OneNormaliser1764000025000 implements MigrationInterface {
  name = 'OneNormaliser1764000025000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      postcodeFunction(
        `regexp_replace(p, '[${SPACES}]+', '', 'g')`,
        '^[A-Za-z]{1,2}[0-9][A-Za-z0-9]?[0-9][A-Za-z]{2}$',
        (x) => `translate(${x}, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')`,
      ),
    );
    await q.query(`
      CREATE FUNCTION nhs_number_normalise(n text) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN nhs_number_is_valid(${compactNhs}) THEN ${compactNhs} END
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION nhs_number_normalise(text)`);
    // As migration 1764000004000 made it.
    await q.query(
      postcodeFunction(
        `upper(regexp_replace(p, '\\s+', '', 'g'))`,
        '^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$',
        (x) => x,
      ),
    );
  }
}
