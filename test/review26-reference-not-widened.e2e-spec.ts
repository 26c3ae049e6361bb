import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 26, finding 7 (SPEC §2: "Duplicate Patient records with one NHS number are one patient: an
 * objection on either applies"; the centre re-checks, never weaker than the extractor). Found by
 * the wider property (review26-extractor-centre-diff-wide). Practice A's export has `Patient/c`
 * with n0, and a duplicate record `Patient/a` of n0 that also carries n1; a Type 1 objection names
 * `Patient/c`. Sent raw, the objection by reference reaches n0 only (`idn` of `c`, not widened):
 * n1 is no objector, and B's data for n1 stay and are released. Through the extractor a Type 2
 * objection leaves by number with `Patient/a` beside it, and the centre widens it to n1 (the
 * property's counterexample: raw weaker than the extractor); a Type 1 objection leaves as a marker
 * of n0 only (the extractor drops `Patient/a`), so neither path reaches n1.
 */
describe('review26: an objection by reference does not reach the numbers beside its number', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 28_100;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const held = async (n: string, type: string) =>
    (
      await t.sql.query(
        `SELECT (SELECT count(*)::int FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE p.nhs_number = $1) AS events,
                coalesce((SELECT active FROM objection_register WHERE nhs_number = $1 AND type = $2), false) AS active`,
        [n, type],
      )
    ).rows[0] as { events: number; active: boolean };

  const exportOf = (n0: string, n1: string, code: string) =>
    ndjson([
      patient('c', n0),
      patient('a', n0, {
        identifier: [
          { system: NHS, value: n0 },
          { system: NHS, value: n1 },
        ],
      }),
      objection('c-o', 'c', code, '2020-01-01T10:00:00Z'),
    ]);

  it.each([
    ['Type 1', '9Nu0', 'raw'],
    ['Type 2', '9Nu4', 'raw'],
    ['Type 1', '9Nu0', 'through the extractor'],
    ['Type 2', '9Nu4', 'through the extractor'],
  ])(
    '%s (%s) on Patient/c, sent %s: in force for n1 (and, Type 1, B’s data for n1 deleted)',
    async (type, code, how) => {
      const [n0, n1] = [nhsNumber(seed++), nhsNumber(seed++)];
      await upload(t, b, 'B82002', ndjson([patient('b1', n1, {}, 'B82002'), condition('b1-c', 'b1')])).expect(
        201,
      );
      let body = exportOf(n0, n1, code);
      if (how !== 'raw') {
        const dir = mkdtempSync(path.join(tmpdir(), 'review26-'));
        writeFileSync(path.join(dir, 'in.ndjson'), body);
        await runExtractor({
          practiceOds: 'A81001',
          input: path.join(dir, 'in.ndjson'),
          output: path.join(dir, 'out.ndjson'),
        });
        body = readFileSync(path.join(dir, 'out.ndjson'), 'utf8');
      }
      await upload(t, a, 'A81001', body).expect(201);
      const s = await held(n1, type === 'Type 1' ? 'type1' : 'type2');
      // Today: raw, no objection for n1 (either type); through the extractor, Type 2 in force, Type 1 not.
      expect(s).toEqual({ events: type === 'Type 1' ? 0 : 1, active: true });
    },
  );
});
