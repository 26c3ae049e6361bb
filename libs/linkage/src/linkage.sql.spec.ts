import fc from 'fast-check';
import type { Client } from 'pg';
import { isValidNhsNumber, normalisePostcode } from '@custodian/core';
import { createTestDatabase, TestDatabase } from '@custodian/testing';
import { linkReference, LinkPatient, LinkRow, partialDobMatch } from './linkage-rules';
import { Exec, LINKAGE_RESULT, runLinkage } from './linkage.sql';
import { keepType1Keys } from './type1-keys.sql';

/** Nine random digits and their Modulus 11 check digit: valid unless the check works out to 10. */
const modulus11 = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 9, maxLength: 9 }).map((d) => {
  const check = (11 - (d.reduce((s, x, i) => s + x * (10 - i), 0) % 11)) % 11;
  return d.join('') + (check === 10 ? '0' : String(check));
});
const tenDigits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 10, maxLength: 10 });
const nhsCandidates = fc.oneof(
  modulus11,
  tenDigits,
  fc.constantFrom('0000000000', '1111111111', '9999999999', '943476591', '94347659199', ''),
  fc.string({ unit: fc.constantFrom(...'0123456789 -x٣'), maxLength: 12 }),
  fc.string(),
);
const postcodeCandidates = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'ABCLSZabz0169 \t'), maxLength: 10 }),
  fc.constantFrom(
    'LS6 1AB',
    'ls61ab',
    'ZZ99 3VZ',
    'zz993wz',
    'EC1A 1BB',
    'W1A 0AX',
    'M1 1AE',
    'SW1A1AA',
    'B33 8TH',
  ),
  fc.string(),
);
const isoDate = fc
  .date({ min: new Date('1890-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

describe('linkage SQL', () => {
  let db: TestDatabase;
  let sql: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
  });
  afterAll(() => db?.drop());

  /** Evaluates a one-argument SQL expression over many inputs in one round trip. */
  const batch = async <T>(expr: string, type: string, inputs: unknown[]): Promise<T[]> => {
    const { rows } = await sql.query(
      `SELECT ${expr} AS out FROM unnest($1::${type}[]) WITH ORDINALITY AS u(v, i) ORDER BY i`,
      [inputs],
    );
    return rows.map((r) => r.out as T);
  };

  it('nhs_number_is_valid agrees with isValidNhsNumber', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nhsCandidates, { minLength: 1, maxLength: 200 }), async (inputs) => {
        const clean = inputs.map((s) => s.replace(/\0/g, ''));
        const got = await batch<boolean>('nhs_number_is_valid(v)', 'text', clean);
        expect(got).toEqual(clean.map((s) => isValidNhsNumber(s)));
      }),
      { numRuns: 60 },
    );
    expect(await batch('nhs_number_is_valid(v)', 'text', ['9434765919', '9434765918', null])).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('postcode_normalise agrees with normalisePostcode', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(postcodeCandidates, { minLength: 1, maxLength: 200 }), async (inputs) => {
        const clean = inputs.map((s) => s.replace(/\0/g, ''));
        const got = await batch<string | null>('postcode_normalise(v)', 'text', clean);
        // JavaScript's \s and PostgreSQL's \s differ on exotic Unicode spaces; compare on the rest.
        const comparable = clean.map((s) => !/[^\x20-\x7e\t\n\r]/.test(s));
        expect(got.filter((_, i) => comparable[i])).toEqual(
          clean.filter((_, i) => comparable[i]).map((s) => normalisePostcode(s) ?? null),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('dob_partial_match agrees with partialDobMatch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(isoDate, isoDate), { minLength: 1, maxLength: 200 }),
        async (pairs) => {
          const { rows } = await sql.query(
            `SELECT dob_partial_match(a, b) AS out
             FROM unnest($1::date[], $2::date[]) WITH ORDINALITY AS u(a, b, i) ORDER BY i`,
            [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
          );
          expect(rows.map((r) => r.out)).toEqual(pairs.map(([a, b]) => partialDobMatch(a, b)));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('date_parse_lenient reads ISO, DD/MM/YYYY and YYYYMMDD, and nothing impossible', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 9999 }),
            fc.integer({ min: 0, max: 13 }),
            fc.integer({ min: 0, max: 32 }),
          ),
          { minLength: 1, maxLength: 200 },
        ),
        async (parts) => {
          const expected = parts.map(([y, m, d]) => {
            const t = new Date(Date.UTC(y, m - 1, d));
            t.setUTCFullYear(y);
            const real =
              y >= 1 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
            return real
              ? `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`
              : null;
          });
          const p2 = (n: number) => String(n).padStart(2, '0');
          const p4 = (n: number) => String(n).padStart(4, '0');
          for (const fmt of [
            ([y, m, d]: number[]) => `${p4(y)}-${p2(m)}-${p2(d)}`,
            ([y, m, d]: number[]) => `${p2(d)}/${p2(m)}/${p4(y)}`,
            ([y, m, d]: number[]) => `${p4(y)}${p2(m)}${p2(d)}`,
          ]) {
            const got = await batch<string | null>('date_parse_lenient(v)::text', 'text', parts.map(fmt));
            expect(got).toEqual(expected);
          }
        },
      ),
      { numRuns: 30 },
    );
    expect(
      await batch('date_parse_lenient(v)::text', 'text', [
        '2024-02-29',
        '2023-02-29',
        '1 Jan 2000',
        '',
        null,
      ]),
    ).toEqual(['2024-02-29', null, null, null, null]);
  });

  describe('the eight steps in SQL link exactly as the literal algorithm', () => {
    // Small pools so that rows and patients collide on every field, in every combination.
    const NHS = ['9434765919', '9434765870', '4010232137', '9990000018', '9990000026'];
    const DOBS = ['1980-03-07', '1980-07-03', '1980-03-08', '1981-03-07', '1980-01-01', '1979-11-30'];
    const POSTCODES = ['LS6 1AB', 'LS1 4DY', 'ZZ99 3VZ', 'ZZ99 3WZ'];
    const sexArb = fc.constantFrom<'M' | 'F' | 'U'>('M', 'F', 'F', 'M', 'U');
    const patientsArb = fc
      .uniqueArray(
        fc.record({
          nhsNumber: fc.constantFrom(...NHS, '4010232145', '9990000034'),
          birthDate: fc.constantFrom(...DOBS),
          sex: sexArb,
          postcode: fc.option(fc.constantFrom(...POSTCODES), { nil: null, freq: 6 }),
        }),
        { selector: (p) => p.nhsNumber, maxLength: 7 },
      )
      .map((ps) => ps.map((p, i): LinkPatient => ({ id: i + 1, ...p })));
    const rowsArb = fc
      .array(
        fc.record({
          nhsNumber: fc.option(fc.constantFrom(...NHS, '9990000042'), { nil: null, freq: 2 }),
          birthDate: fc.option(fc.constantFrom(...DOBS), { nil: null, freq: 8 }),
          sex: sexArb,
          postcode: fc.option(fc.constantFrom(...POSTCODES, 'LS2 9JT'), { nil: null, freq: 6 }),
        }),
        { minLength: 1, maxLength: 25 },
      )
      .map((rs) => rs.map((r, i): LinkRow => ({ id: i + 1, ...r })));

    // Type 1 objectors whose data is no longer held: their own NHS numbers (never a patient's).
    const objectorsArb = fc.uniqueArray(
      fc.record({
        nhsNumber: fc.constantFrom('9990000050', '9990000069', '9990000077'),
        birthDate: fc.constantFrom(...DOBS),
        sex: sexArb,
        postcode: fc.option(fc.constantFrom(...POSTCODES), { nil: null, freq: 6 }),
      }),
      { selector: (p) => p.nhsNumber, maxLength: 3 },
    );
    const rowsWithObjectorsArb = rowsArb.chain((rs) =>
      fc
        .array(fc.constantFrom('9990000050', '9990000069', null), {
          minLength: rs.length,
          maxLength: rs.length,
        })
        // Some rows carry an objector's NHS number.
        .map((nhs) =>
          rs.map((r, i) => (nhs[i] && r.nhsNumber === '9990000042' ? { ...r, nhsNumber: nhs[i] } : r)),
        ),
    );
    const key = Buffer.alloc(32, 3);

    const exec: Exec = async (q, params) => (await sql.query(q, params)).rows;
    const insertPatients = (patients: LinkPatient[]) =>
      sql.query(
        `INSERT INTO patients (id, nhs_number, birth_date, sex, postcode, practice_ods, source_id)
         OVERRIDING SYSTEM VALUE
         SELECT id, nhs, dob, sex, pc, 'Z99999', 'p' || id
           FROM unnest($1::bigint[], $2::text[], $3::date[], $4::text[], $5::text[]) AS u(id, nhs, dob, sex, pc)`,
        [
          patients.map((p) => p.id),
          patients.map((p) => p.nhsNumber),
          patients.map((p) => p.birthDate),
          patients.map((p) => p.sex),
          patients.map((p) => p.postcode),
        ],
      );

    it('for random rows, patients and Type 1 objectors no longer held', async () => {
      await fc.assert(
        fc.asyncProperty(
          patientsArb,
          rowsWithObjectorsArb,
          objectorsArb,
          async (patients, rows, objectors) => {
            await sql.query('BEGIN');
            try {
              await sql.query(`DELETE FROM patients`);
              await sql.query(`DELETE FROM linkage_type1_keys`);
              await sql.query(
                `INSERT INTO practices (ods_code, name) VALUES ('Z99999', 'Property') ON CONFLICT DO NOTHING`,
              );
              // The objectors were held, their keys kept as a Type 1 objection arrived, then deleted.
              await insertPatients(objectors.map((o, i) => ({ id: 1000 + i, ...o })));
              await sql.query(
                `CREATE TEMP TABLE objectors ON COMMIT DROP AS SELECT unnest($1::text[])::char(10) AS nhs_number`,
                [objectors.map((o) => o.nhsNumber)],
              );
              await keepType1Keys(exec, key, 'objectors');
              await sql.query(`DELETE FROM patients`);
              await insertPatients(patients);
              await sql.query(
                `CREATE TEMP TABLE linkage_input ON COMMIT DROP AS
               SELECT id, nhs::char(10) AS nhs_number, dob AS birth_date, sex::char(1) AS sex, pc AS postcode
                 FROM unnest($1::bigint[], $2::text[], $3::date[], $4::text[], $5::text[]) AS u(id, nhs, dob, sex, pc)`,
                [
                  rows.map((r) => r.id),
                  rows.map((r) => r.nhsNumber),
                  rows.map((r) => r.birthDate),
                  rows.map((r) => r.sex),
                  rows.map((r) => r.postcode),
                ],
              );
              const counts = await runLinkage(exec, 'linkage_input', key);
              const got = await exec(
                `SELECT id::int, patient_id::int AS "patientId", step FROM ${LINKAGE_RESULT}`,
              );
              const expected = linkReference(rows, patients, objectors);
              const actual = new Map(rows.map((r) => [r.id, { patientId: null, step: null } as object]));
              for (const g of got) actual.set(g.id as number, { patientId: g.patientId, step: g.step });
              expect(actual).toEqual(expected);
              expect(counts.linked).toBe(got.length);
            } finally {
              await sql.query('ROLLBACK');
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  });
});
