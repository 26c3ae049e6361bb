import fc from 'fast-check';
import {
  activeType1Among,
  objectionsAsOf,
  refreshRegisterSql,
  withAliases,
} from '../libs/objections/src/objections.sql';
import { createTestApp, TestApp } from '@custodian/testing';
import { activeObjections } from '../libs/release/src/verifier/verifier-sql';
import { nhsNumber } from './support/fhir';

/**
 * How far an objection reaches through the numbers practices' records give as one person's
 * (`nhs_number_aliases`; SPEC §2: duplicate records with one NHS number are one patient, an
 * objection on either applies). Four readings must agree — what a release reads (`objectionsAsOf`),
 * the release verifier's own SQL (`activeObjections`), the Type 1 check of the intake and the sweep
 * (`activeType1Among`) and the API's Type 1 deletion (`withAliases`) — with the rule, in TypeScript:
 * the objectors' numbers, the numbers of every record carrying one (a step), and those of every
 * record sharing one of those (a second step), through the pairs standing at the time read; never
 * further (review-19), never through a pair a later extract retracted. Random records and
 * objections; before the fix, the API path and the release reached one step (review-30).
 */
describe('objection register: an objection reaches two steps through the records’ numbers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('property: the four readings give the rule’s objectors', async () => {
    const n = 7;
    const record = fc.record({
      numbers: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 2, maxLength: 3 }),
      practice: fc.constantFrom('A81001', 'B82002'),
      retracted: fc.boolean(),
    });
    const objection = fc.record({
      person: fc.integer({ min: 0, max: n - 1 }),
      type: fc.constantFrom('type1', 'type2'),
    });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 5 }),
        fc.array(objection, { minLength: 1, maxLength: 3 }),
        async (records, objections) => {
          const people = Array.from({ length: n }, (_, i) => nhsNumber(710_000 + round * 10 + i));
          round++;
          await t.sql.query('BEGIN');
          try {
            for (const [i, r] of records.entries())
              for (const a of r.numbers)
                for (const b of r.numbers)
                  if (a !== b)
                    await t.sql.query(
                      `INSERT INTO nhs_number_aliases (practice_ods, record_id, nhs_number, alias, recorded_at, retracted_at)
                       VALUES ($1, $2, $3, $4, now() - interval '1 hour',
                               CASE WHEN $5::boolean THEN now() - interval '1 minute' END)`,
                      [r.practice, `rec-${i}`, people[a], people[b], r.retracted],
                    );
            for (const o of objections)
              await t.sql.query(
                `INSERT INTO objection_events (nhs_number, type, action, effective_at, recorded_at, source, practice_ods)
                 VALUES ($1, $2, 'register', now() - interval '2 hours', now() - interval '2 hours', 'api', 'A81001')`,
                [people[o.person], o.type],
              );
            await t.sql.query(`CREATE TEMP TABLE reach_people (nhs_number char(10)) ON COMMIT DROP`);
            await t.sql.query(`INSERT INTO reach_people SELECT unnest($1::text[])`, [people]);
            await t.sql.query(refreshRegisterSql('reach_people'));

            // The rule.
            const beside = (i: number) =>
              new Set(records.filter((r) => !r.retracted && r.numbers.includes(i)).flatMap((r) => r.numbers));
            const reach = (from: number[]) => {
              const one = new Set(from.flatMap((i) => [i, ...beside(i)]));
              return new Set([...one].flatMap((i) => [i, ...beside(i)]));
            };
            const expected = (type: string) =>
              [...reach(objections.filter((o) => o.type === type).map((o) => o.person))]
                .map((i) => people[i])
                .sort();
            const sorted = (rows: { nhs: string }[]) => [...new Set(rows.map((r) => r.nhs.trim()))].sort();
            const among = async (sql: string, params: unknown[] = []) =>
              sorted(
                (
                  await t.sql.query(`SELECT nhs_number AS nhs FROM (${sql}) q WHERE nhs_number = ANY($1)`, [
                    people,
                    ...params,
                  ])
                ).rows,
              );

            for (const type of ['type1', 'type2']) {
              const release = sorted(
                (
                  await t.sql.query(
                    `SELECT nhs_number AS nhs FROM (${objectionsAsOf('now()')}) o WHERE type = $2 AND nhs_number = ANY($1)`,
                    [people, type],
                  )
                ).rows,
              );
              const verifier = sorted(
                (
                  await t.sql.query(
                    `SELECT nhs FROM (${activeObjections('now()', `ARRAY['${type}']`)}) o WHERE nhs = ANY($1)`,
                    [people],
                  )
                ).rows,
              );
              expect({ type, release, verifier }).toEqual({
                type,
                release: expected(type),
                verifier: expected(type),
              });
            }
            expect(await among(activeType1Among('reach_people'))).toEqual(expected('type1'));
            // The API's Type 1 deletion reaches from the number it names.
            const named = objections[0].person;
            await t.sql.query(`CREATE TEMP TABLE reach_named (nhs_number char(10)) ON COMMIT DROP`);
            await t.sql.query(`INSERT INTO reach_named VALUES ($1)`, [people[named]]);
            expect(await among(withAliases('reach_named'))).toEqual(
              [...reach([named])].map((i) => people[i]).sort(),
            );
          } finally {
            await t.sql.query('ROLLBACK');
          }
        },
      ),
      { numRuns: 120 },
    );
  });
});
