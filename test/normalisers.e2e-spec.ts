import fc from 'fast-check';
import type { Client } from 'pg';
import { normaliseNhsNumber } from '@custodian/core/nhs-number';
import { normalisePostcode } from '@custodian/core/postcode';
import { createTestDatabase, type TestDatabase } from '@custodian/testing';

/**
 * One NHS-number normaliser and one postcode normaliser, in TypeScript (API, extracts, cohort
 * files) and in SQL (HES and social-care loads): run both over the same generated inputs and they
 * give the same answer for every one. Non-ASCII letters are rejected, never folded (`ß` is not
 * `SS`); every Unicode space separates as an ASCII space does.
 */
const SQL_NHS = (x: string) => `nhs_number_normalise(${x})`;
const SQL_POSTCODE = (x: string) => `postcode_normalise(${x})`;

const SPACES = [' ', '\t', '\u00a0', '\u2007', '\u202f', '\u3000', '\ufeff', '\n'];
const ODD = ['ß', 'ı', 'İ', 'é', 'Ａ', '１', '٣', 'ﬀ', 'K', 'ſ', '-', '_', '.'];

let db: TestDatabase;
let sql: Client;
beforeAll(async () => {
  db = await createTestDatabase();
  sql = await db.superuser();
});
afterAll(() => db?.drop());

/** [input, TypeScript's answer, SQL's answer] for every input, in one round trip. */
async function both(
  inputs: string[],
  ts: (v: string) => string | undefined,
  sqlOf: (x: string) => string,
): Promise<[string, string | null, string | null][]> {
  const { rows } = await sql.query<{ i: number; out: string | null }>(
    `SELECT i::int, (${sqlOf('v')})::text AS out FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`,
    [inputs],
  );
  return inputs.map((v, k) => [v, ts(v) ?? null, rows[k].out]);
}

const differences = (rows: [string, string | null, string | null][]) =>
  rows.filter(([, a, b]) => a !== b).map(([v, a, b]) => ({ input: JSON.stringify(v), ts: a, sql: b }));

/** A valid NHS number, then typed: separators inserted, maybe an odd character. */
const validNhs = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 9, maxLength: 9 }).map((d) => {
  const sum = d.reduce((s, x, i) => s + x * (10 - i), 0);
  const check = (11 - (sum % 11)) % 11;
  return check === 10 ? '9434765919' : d.join('') + check;
});
const typed = (base: fc.Arbitrary<string>) =>
  fc
    .tuple(base, fc.array(fc.tuple(fc.nat(12), fc.constantFrom(...SPACES, ...ODD)), { maxLength: 3 }))
    .map(([s, inserts]) => {
      let out = s;
      for (const [at, c] of inserts)
        out = out.slice(0, at % (out.length + 1)) + c + out.slice(at % (out.length + 1));
      return out;
    });

const postcodes = fc
  .tuple(
    fc.constantFrom('LS', 'SW', 'B', 'M', 'ZZ', 'EC', 'W', 'ls', 'Ss', 'b'),
    fc.integer({ min: 0, max: 99 }),
    fc.constantFrom('', 'A', 'w', '1'),
    fc.integer({ min: 0, max: 9 }),
    fc.constantFrom('AA', 'ab', 'ZZ', 'VZ', 'wz'),
  )
  .map(([a, n, x, d, b]) => `${a}${n}${x} ${d}${b}`);

describe('normalisers: TypeScript and SQL agree', () => {
  it('on the cases that once differed', async () => {
    const nhs = await both(
      ['943\u00a0476\u00a05919', '943 476 5919', '943-476-5919', '９４３4765919', '9434765919\u3000'],
      normaliseNhsNumber,
      SQL_NHS,
    );
    expect(differences(nhs)).toEqual([]);
    const pc = await both(
      ['ß1 1AA', 'LS1\u00a01AA', 'ls1 1aa', 'ıP1 1AA', 'Ｌ S1 1AA', 'SS1 1AA'],
      normalisePostcode,
      SQL_POSTCODE,
    );
    expect(differences(pc)).toEqual([]);
    // Non-ASCII letters are rejected, never folded.
    expect(normalisePostcode('ß1 1AA')).toBeUndefined();
    expect(normalisePostcode('LS1\u00a01AA')).toBe('LS1 1AA');
    expect(normaliseNhsNumber('943\u00a0476\u00a05919')).toBe('9434765919');
  });

  it('NHS numbers: on generated inputs', async () => {
    const inputs = fc.sample(
      fc.oneof(typed(validNhs), typed(fc.stringMatching(/^[0-9]{10}$/)), fc.string({ maxLength: 14 })),
      { numRuns: 3000, seed: 21 },
    );
    expect(differences(await both(inputs, normaliseNhsNumber, SQL_NHS))).toEqual([]);
  });

  it('postcodes: on generated inputs', async () => {
    const inputs = fc.sample(fc.oneof(typed(postcodes), fc.string({ maxLength: 9 })), {
      numRuns: 3000,
      seed: 21,
    });
    expect(differences(await both(inputs, normalisePostcode, SQL_POSTCODE))).toEqual([]);
  });
});
