import fc from 'fast-check';
import { refreshRegisterSql } from '../libs/objections/src/objections.sql';
import { createTestApp, TestApp } from '@custodian/testing';
import { activeObjections } from '../libs/release/src/verifier/verifier-sql';
import { nhsNumber } from './support/fhir';

/**
 * The withdrawal authority (SPEC §2; an outsider's probe, 2026-12-07) is decided in three places
 * that must agree: the register the service keeps (`refreshRegisterSql`), what a release reads
 * (`objections_as_of`, migration 1764000052000) and the release verifier's own SQL. Random histories
 * of registrations and withdrawals by several practices, each withdrawal with or without a holder's
 * authority; and the rule itself: a registration stands unless a later withdrawal of its own
 * practice, or of a practice that held the patient from before it was recorded, follows it.
 */
describe('objection register: the three readings of the withdrawal authority agree', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('property: register, objections_as_of and the verifier give the same objectors, and the rule holds', async () => {
    const base = Date.parse('2024-01-01T00:00:00Z');
    const at = (s: number) => new Date(base + s * 1000).toISOString();
    const entry = fc.record({
      person: fc.integer({ min: 0, max: 3 }),
      type: fc.constantFrom('type1', 'type2'),
      action: fc.constantFrom('register', 'withdraw'),
      practice: fc.constantFrom('A81001', 'B82002', null),
      effective: fc.integer({ min: 0, max: 20 }),
      recorded: fc.integer({ min: 0, max: 20 }),
      holder: fc.option(fc.integer({ min: -1, max: 20 }), { nil: null }),
    });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 12 }), async (entries) => {
        const people = [0, 1, 2, 3].map((i) => nhsNumber(700_000 + round * 10 + i));
        round++;
        await t.sql.query('BEGIN');
        try {
          for (const e of entries)
            await t.sql.query(
              `INSERT INTO objection_events (nhs_number, type, action, effective_at, recorded_at, source, practice_ods, holder_since)
               VALUES ($1, $2, $3, $4, $5, 'api', $6, $7)`,
              [
                people[e.person],
                e.type,
                e.action,
                at(e.effective),
                at(e.recorded),
                e.practice,
                e.action === 'withdraw' && e.holder !== null ? at(e.holder) : null,
              ],
            );
          await t.sql.query(`CREATE TEMP TABLE agree_people (nhs_number char(10)) ON COMMIT DROP`);
          await t.sql.query(`INSERT INTO agree_people SELECT unnest($1::text[])`, [people]);
          await t.sql.query(refreshRegisterSql('agree_people'));
          const key = (r: { nhs: string; type: string }) => `${r.nhs.trim()}/${r.type}`;
          const register = (
            await t.sql.query(
              `SELECT nhs_number AS nhs, type FROM objection_register WHERE active AND nhs_number = ANY($1)`,
              [people],
            )
          ).rows.map(key);
          const asOf = (
            await t.sql.query(
              `SELECT nhs_number AS nhs, type FROM objections_as_of(now()) WHERE nhs_number = ANY($1)`,
              [people],
            )
          ).rows.map(key);
          const verifier: string[] = [];
          for (const type of ['type1', 'type2'])
            for (const r of (
              await t.sql.query(
                `SELECT nhs FROM (${activeObjections('now()', `ARRAY['${type}']`)}) o WHERE nhs = ANY($1)`,
                [people],
              )
            ).rows)
              verifier.push(key({ nhs: r.nhs, type }));
          // The rule, in TypeScript.
          const expected = new Set<string>();
          for (const r of entries)
            if (r.action === 'register') {
              const cancelled = entries.some(
                (w) =>
                  w.action === 'withdraw' &&
                  w.person === r.person &&
                  w.type === r.type &&
                  w.effective > r.effective &&
                  (w.practice === r.practice || (w.holder !== null && w.holder <= r.recorded)),
              );
              if (!cancelled) expected.add(`${people[r.person]}/${r.type}`);
            }
          const sorted = (x: Iterable<string>) => [...new Set(x)].sort();
          expect(sorted(register)).toEqual(sorted(expected));
          expect(sorted(asOf)).toEqual(sorted(expected));
          expect(sorted(verifier)).toEqual(sorted(expected));
        } finally {
          await t.sql.query('ROLLBACK');
        }
      }),
      { numRuns: 150 },
    );
  });
});
