import { EntityManager } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 26, finding 8 (performance; the intake's cost must stay linear in the extract). The
 * registration statement of 08071a0 (intake/subjects.ts) reaches, for an objection named by NHS
 * number, "the numbers a Patient line carries beside it" through `idn a JOIN idn b ON b.line =
 * a.line` inside a LATERAL per registration; `idn` has no index on `line`, so every registration by
 * number scans the whole of `idn` (one row per Patient line at least): registrations × Patients.
 * Every registration the extractor writes names its patient by number (objectionLines), so an
 * extractor-made extract of a large practice pays it in full: 50,000 Patients and 1,000
 * registrations took 4.5 s in this statement alone (EXPLAIN ANALYZE, embedded PostgreSQL), and it
 * grows with the product (a million Patients, 30,000 registrations: hours).
 *
 * The test reads the statement's plan (EXPLAIN ANALYZE in a savepoint, rolled back, then the
 * statement runs as usual) on a small extract: no scan of `idn` may run once per registration.
 */
describe('review26: a registration by number scans every Patient line', () => {
  let t: TestApp;
  let a: { Authorization: string };
  const original = EntityManager.prototype.query;
  const loops: number[] = [];
  let seen = 0;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    EntityManager.prototype.query = async function (this: EntityManager, sql: string, params?: unknown[]) {
      if (typeof sql === 'string' && /JOIN idn b ON b\.line = a\.line/.test(sql)) {
        seen++;
        await original.call(this, 'SAVEPOINT review26');
        const [row] = (await original.call(this, `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)) as Record<
          string,
          unknown
        >[];
        await original.call(this, 'ROLLBACK TO SAVEPOINT review26');
        const walk = (n: Record<string, unknown>) => {
          if (n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'idn')
            loops.push(n['Actual Loops'] as number);
          for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c);
        };
        walk((row['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0].Plan);
      }
      return original.call(this, sql, params);
    } as typeof original;
  });
  afterAll(async () => {
    EntityManager.prototype.query = original;
    await t?.close();
  });

  it('2,000 Patients, 200 Type 2 registrations by NHS number: idn is not scanned once per registration', async () => {
    const lines: unknown[] = [];
    for (let i = 0; i < 2000; i++) lines.push(patient(`p${i}`, nhsNumber(28_200 + i)));
    for (let i = 0; i < 200; i++)
      lines.push({
        resourceType: 'Observation',
        id: `o${i}`,
        subject: { identifier: { system: NHS, value: nhsNumber(28_200 + i * 7) } },
        code: { coding: [{ system: READ, code: '9Nu4' }] },
        effectiveDateTime: '2020-01-01T10:00:00Z',
      });
    await upload(t, a, 'A81001', ndjson(lines)).expect(201);
    expect(seen).toBe(1);
    // Today: a Seq Scan on idn with 200 loops (one per registration).
    expect(Math.max(0, ...loops)).toBeLessThanOrEqual(1);
  }, 120_000);
});
